// `lab:scenario` through the Nx devkit tree, as `nx g` runs it.
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { readFileSync } from 'fs';
import { join } from 'path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { scenarioGenerator } from '../generators/scenario/generator';
import { renderLab } from '../libs/render';
import { fixtures, practica6 } from './helpers';

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
    const message = (error as Error).message;
    assert.match(message, '/hypervisors/0 (h)/bridges/0 (b)/subnet = "y"');
    assert.match(message, 'unknown subnet');
    assert.not.match((error as Error).stack ?? '', /at .*\.ts:\d+/);
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
  assert.equal(Object.keys(schema.properties).sort(), ['force', 'name', 'outDir', 'profile', 'spec']);
  for (const [key, option] of Object.entries<{ description?: string }>(schema.properties)) assert.ok(option.description, key);
});

test.run();
