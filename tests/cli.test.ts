// `npm run lab -- validate|render`: exit codes, messages, and out/ untouched on error.
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fixtures, root } from './helpers';

function lab(...args: string[]) {
  return spawnSync(process.execPath, ['-r', './tools/register.js', 'tools/cli.ts', ...args], { cwd: root, encoding: 'utf8' });
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

test.run();
