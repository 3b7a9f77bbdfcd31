// `lab:scenario` through the Nx devkit tree, as `nx g` runs it.
import { logger } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { scenarioGenerator } from '../generators/scenario/generator';
import { renderLab } from '../libs/render';
import { buildLab, embeddedScenarios, readScenario } from '../libs/spec/load';
import { SpecError } from '../libs/spec/problems';
import type { LabSpec } from '../libs/spec/types';
import { fixtures, practica6, root } from './helpers';

/** Runs the generator with Nx's logger captured: what a user sees on the terminal. */
async function generate(tree: ReturnType<typeof createTreeWithEmptyWorkspace>, options: Parameters<typeof scenarioGenerator>[1]) {
  const lines: string[] = [];
  const saved = { info: logger.info, warn: logger.warn };
  logger.info = (message: string) => lines.push(message);
  logger.warn = (message: string) => lines.push(`WARN ${message}`);
  try {
    const afterWrite = await scenarioGenerator(tree, options);
    afterWrite();
  } finally {
    Object.assign(logger, saved);
  }
  return lines.join('\n');
}

/** `npx nx g lab:scenario …` in the workspace, as a user runs it. */
function nxGenerate(...args: string[]) {
  return spawnSync('npx', ['nx', 'g', 'lab:scenario', ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' } });
}

test('no options: renders practica6 into out/practica6/', async () => {
  const tree = createTreeWithEmptyWorkspace();
  await scenarioGenerator(tree, {});
  const lab = JSON.parse(tree.read('out/practica6/lab.json', 'utf-8')!);
  assert.is(lab.name, 'practica6');
  assert.is(lab.spanningTree.domains[0].root, 'swout2');
  // The tree holds exactly what the renderer produced.
  const expected = renderLab(practica6());
  for (const [path, text] of Object.entries(expected)) assert.ok(tree.read(`out/practica6/${path}`, 'utf-8') === text, path);
});

test('--spec, --name, --profile and --outDir', async () => {
  const tree = createTreeWithEmptyWorkspace();
  tree.write('specs/triple.json', readFileSync(join(fixtures, 'triple.json'), 'utf8'));
  await scenarioGenerator(tree, { spec: 'specs/triple.json', name: 'mine', profile: 'seed', outDir: 'labs' });
  const lab = JSON.parse(tree.read('labs/mine/lab.json', 'utf-8')!);
  assert.is(lab.name, 'mine');
  assert.is(lab.profile, 'seed');
  assert.is(lab.stp.forwardDelay, 15);
  assert.not.ok(tree.exists('out/mine'));
});

test('a bad spec throws a readable error and writes nothing', async () => {
  const tree = createTreeWithEmptyWorkspace();
  tree.write('bad.json', JSON.stringify({ name: 'bad', subnets: [{ name: 'x', cidr: '10.0.0.0/24' }], hypervisors: [{ name: 'h', bridges: [{ name: 'b', subnet: 'y' }] }] }));
  const before = tree.listChanges().length;
  try {
    await scenarioGenerator(tree, { spec: 'bad.json' });
    assert.unreachable('accepted');
  } catch (error) {
    assert.instance(error, SpecError);
    const message = (error as Error).message;
    assert.match(message, '/hypervisors/0 (h)/bridges/0 (b)/subnet = "y"');
    assert.match(message, 'unknown subnet');
  }
  assert.is(tree.listChanges().length, before);
  assert.not.ok(tree.exists('out/bad'));
});

test('a missing spec file is reported, not thrown as ENOENT', async () => {
  const tree = createTreeWithEmptyWorkspace();
  try {
    await scenarioGenerator(tree, { spec: 'nope.json' });
    assert.unreachable('accepted');
  } catch (error) {
    assert.match((error as Error).message, 'nope.json: 1 problem');
    assert.match((error as Error).message, 'spec file not found');
  }
});

test('generators.json and schema.json describe every option', () => {
  const root = join(__dirname, '..', 'generators');
  const collection = JSON.parse(readFileSync(join(root, 'generators.json'), 'utf8'));
  assert.is(collection.generators.scenario.factory, './scenario/generator');
  const schema = JSON.parse(readFileSync(join(root, 'scenario', 'schema.json'), 'utf8'));
  assert.equal(Object.keys(schema.properties).sort(), ['force', 'name', 'outDir', 'profile', 'scenario', 'solutions', 'spec', 'stage', 'variant']);
  assert.equal(schema.properties.scenario.enum, embeddedScenarios());
  for (const [key, option] of Object.entries<{ description?: string }>(schema.properties)) assert.ok(option.description, key);
});

test('nx g with a bad spec prints our report only, exits 1 and writes nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lab-nx-bad-'));
  try {
    const spec = JSON.parse(readFileSync(join(root, 'tests/errors/several-problems-at-once.json'), 'utf8'));
    spec.name = 'nx-bad-spec-test';
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify(spec));
    const expected = readFileSync(join(root, 'tests/errors/several-problems-at-once.txt'), 'utf8').replace('tests/errors/several-problems-at-once.json', file).trim();
    for (const flags of [[], ['--verbose']]) {
      const run = nxGenerate('--spec', file, ...flags);
      assert.is(run.status, 1, run.stdout + run.stderr);
      assert.ok(run.stderr.includes(expected), run.stderr);
      assert.not.match(run.stdout + run.stderr, 'Pass --verbose');
      assert.not.match(run.stdout + run.stderr, /\n\s+at /);
      assert.not.ok(existsSync(join(root, 'out', 'nx-bad-spec-test')));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--scenario picks an embedded scenario: curso3', async () => {
  const tree = createTreeWithEmptyWorkspace();
  await generate(tree, { scenario: 'curso3' });
  const lab = JSON.parse(tree.read('out/curso3/lab.json', 'utf-8')!);
  assert.is(lab.name, 'curso3');
  assert.equal(lab.vms.filter((v: { kind: string }) => v.kind === 'hypervisor').length, 3);
  try {
    await scenarioGenerator(createTreeWithEmptyWorkspace(), { scenario: 'curso9' });
    assert.unreachable('accepted');
  } catch (error) {
    assert.match((error as Error).message, 'embedded scenarios: curso3, escala, practica6');
  }
});

test('the first render ends with the summary table too: every file created', async () => {
  const tree = createTreeWithEmptyWorkspace();
  const printed = await generate(tree, {});
  const files = Object.keys(renderLab(practica6()));
  assert.match(printed, /^file\s+result$/m);
  for (const path of files) assert.match(printed, new RegExp(`^${path.replace(/\./g, '\\.')}\\s+created$`, 'm'));
  assert.match(printed, /^\d+ create$/m);
});

test('warnings are printed and the lab is still written', async () => {
  const spec = JSON.parse(readScenario('curso3')) as LabSpec;
  spec.vxlan![0].bridges = ['int1', 'int2'];
  const tree = createTreeWithEmptyWorkspace();
  tree.write('cut.json', JSON.stringify(spec));
  const printed = await generate(tree, { spec: 'cut.json' });
  assert.match(printed, 'WARN cut.json: 3 warnings');
  assert.match(printed, '/haproxy/backends/0 (servidores)/servers/4/container = "web5"');
  assert.ok(tree.exists('out/curso3/lab.json'));
  assert.equal(buildLab(JSON.stringify(spec), { source: 'cut' }).name, 'curso3');
});

test.run();
