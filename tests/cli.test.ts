// `npm run lab -- validate|render`: exit codes, messages, and out/ untouched on error.
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join, relative } from 'path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { labWordAsOption } from '../tools/cli-paths';
import { fixtures, labCli, root } from './helpers';

function lab(...args: string[]) {
  return labCli(args);
}

/** As a user runs it: `npm run lab -- …` from `cwd`, which npm leaves for the workspace root. */
function npmRunLab(cwd: string, ...args: string[]) {
  return spawnSync('npm', ['run', '--silent', 'lab', '--', ...args], { cwd, encoding: 'utf8' });
}

test('validate: practica6 predicts swout2 as root and one blocked port', () => {
  const run = lab('validate');
  assert.is(run.status, 0, run.stderr);
  assert.match(run.stdout, 'STP root: swout2 (1000.020000000401)');
  assert.match(run.stdout, 'blocked ports: swout1/to-vswout2');
});

test('validate: a bad spec exits 1 with the problem list and no stack trace', () => {
  const run = lab('validate', 'tests/errors/hostile-container-name.json');
  assert.is(run.status, 1);
  assert.is(run.stderr.trim(), readFileSync(join(root, 'tests/errors/hostile-container-name.txt'), 'utf8').trim());
  assert.not.match(run.stderr, /\n\s+at /);
});

test('render: writes the lab; a bad spec leaves the output folder untouched', () => {
  const out = mkdtempSync(join(tmpdir(), 'lab-cli-'));
  try {
    const good = lab('render', join(fixtures, 'triple.json'), '--out-dir', out);
    assert.is(good.status, 0, good.stderr);
    const before = readFileSync(join(out, 'triple', 'lab.json'), 'utf8');
    const bad = lab('render', 'tests/errors/several-problems-at-once.json', '--out-dir', out, '--name', 'triple');
    assert.is(bad.status, 1);
    assert.match(bad.stderr, '3 problems');
    assert.equal(readdirSync(out), ['triple']);
    assert.is(readFileSync(join(out, 'triple', 'lab.json'), 'utf8'), before);
    // Two renders of the same spec are byte-identical.
    const again = lab('render', join(fixtures, 'triple.json'), '--out-dir', out);
    assert.is(again.status, 0);
    assert.ok(readFileSync(join(out, 'triple', 'lab.json'), 'utf8') === before);
    assert.not.ok(existsSync(join(out, 'triple.tmp')));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('render --scenario curso3: the embedded second lab; the first render ends with the summary table too', () => {
  const out = mkdtempSync(join(tmpdir(), 'lab-curso3-'));
  try {
    const valid = lab('validate', '--scenario', 'curso3');
    assert.is(valid.status, 0, valid.stderr);
    assert.match(valid.stdout, 'curso3 (embedded): valid (lab curso3, profile fast)');
    assert.is(valid.stderr, '');
    const first = lab('render', '--scenario', 'curso3', '--out-dir', out);
    assert.is(first.status, 0, first.stderr);
    assert.is(first.stderr, '');
    const files = readdirSync(join(out, 'curso3'), { recursive: true }).length;
    assert.match(first.stdout, /^file\s+result$/m);
    assert.match(first.stdout, /^lab\.json\s+created$/m);
    assert.match(first.stdout, /^Vagrantfile\s+created$/m);
    assert.match(first.stdout, /^\d+ create$/m);
    assert.ok(files > 0);
    const again = lab('render', '--scenario', 'curso3', '--out-dir', out);
    assert.match(again.stdout, /^\d+ unchanged$/m);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('every command that acts on a rendered lab takes it as --lab or as the word after the command', () => {
  const missing = join(tmpdir(), 'no-such-parent', 'curso');
  for (const args of [
    ['twin', 'exec', missing, 'u1', '--', 'curl', '-s', 'http://172.16.2.254/'],
    ['twin', 'exec', '--lab', missing, 'u1', '--', 'true'],
    ['twin', 'fault', missing, 'vswout1', 'down'],
    ['twin', 'fault', '--lab', missing, 'vswout1', 'down'],
    ['twin', 'status', missing],
    ['twin', 'status', '--lab', missing],
    ['twin', 'up', missing],
    ['twin', 'down', '--lab', missing],
    ['check', missing],
    ['check', '--lab', missing],
  ]) {
    const run = lab(...args);
    assert.is(run.status, 1, `${args.join(' ')}: ${run.stderr}`);
    assert.is(run.stderr.trim(), `${join(missing, 'lab.json')} not found: render the lab first (npx nx g lab:scenario)`, args.join(' '));
  }
});

test('the lab word is recognised by its path, never a node, fault target or action', () => {
  assert.equal(labWordAsOption(['twin', 'exec', 'out/curso', 'u1', '--', 'curl']), ['twin', 'exec', '--lab', 'out/curso', 'u1', '--', 'curl']);
  assert.equal(labWordAsOption(['twin', 'exec', 'u1', '--', 'curl']), ['twin', 'exec', 'u1', '--', 'curl']);
  assert.equal(labWordAsOption(['twin', 'fault', 'sw1:ext1', 'down']), ['twin', 'fault', 'sw1:ext1', 'down']);
  assert.equal(labWordAsOption(['twin', 'fault', '../labs/curso3', 'bal1:haproxy', 'up']), ['twin', 'fault', '--lab', '../labs/curso3', 'bal1:haproxy', 'up']);
  assert.equal(labWordAsOption(['validate', 'specs/x.json']), ['validate', 'specs/x.json']);
  // A bare word is a lab only when it is a folder holding lab.json.
  const out = mkdtempSync(join(tmpdir(), 'lab-word-'));
  try {
    const good = lab('render', join(fixtures, 'triple.json'), '--out-dir', out);
    assert.is(good.status, 0, good.stderr);
    assert.equal(labWordAsOption(['twin', 'exec', 'triple', 'client', '--', 'true'], out), ['twin', 'exec', '--lab', 'triple', 'client', '--', 'true']);
    assert.equal(labWordAsOption(['twin', 'exec', 'client', '--', 'true'], out), ['twin', 'exec', 'client', '--', 'true']);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('npm run lab: relative paths start from the folder the command was typed in', () => {
  const errors = join(root, 'tests', 'errors');
  const bad = npmRunLab(errors, 'validate', 'vrrp-equal-priorities.json');
  assert.is(bad.status, 1, bad.stderr);
  assert.match(bad.stderr, 'vrrp-equal-priorities.json: 1 problem');
  assert.match(bad.stderr, 'same priority as bal1');
  // A missing file is reported with the absolute path that was tried.
  const missing = npmRunLab(errors, 'validate', '../nope.json');
  assert.is(missing.status, 1);
  assert.match(missing.stderr, `= ${JSON.stringify(join(root, 'tests', 'nope.json'))}`);
  assert.match(missing.stderr, 'spec file not found');
  const out = mkdtempSync(join(tmpdir(), 'lab-npm-'));
  try {
    const render = npmRunLab(errors, 'render', '../fixtures/triple.json', '--out-dir', relative(errors, out));
    assert.is(render.status, 0, render.stderr);
    assert.ok(existsSync(join(out, 'triple', 'lab.json')));
    const noLab = npmRunLab(errors, 'twin', 'status', relative(errors, join(out, 'nothing')));
    assert.match(noLab.stderr, `${join(out, 'nothing', 'lab.json')} not found`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('twin status of a lab that is down says so, names the command to bring it up and exits 1', () => {
  const out = mkdtempSync(join(tmpdir(), 'lab-down-'));
  try {
    // A lab name nobody runs: its namespaces cannot exist.
    const render = lab('render', join(fixtures, 'triple.json'), '--out-dir', out, '--name', 'cli-down-test');
    assert.is(render.status, 0, render.stderr);
    const dir = join(out, 'cli-down-test');
    const run = lab('twin', 'status', dir);
    assert.is(run.status, 1, run.stdout);
    assert.is(run.stderr.trim(), `lab cli-down-test is down (no network namespace lab_cli-down-test_*): bring it up with sudo npm run lab -- twin up ${dir}`);
    assert.not.match(run.stdout, 'DIFFERS');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test.run();
