// Variants (--variant <id>): a deterministic spec per student, applied before resolution. The same
// id gives the same files byte for byte; every id gives a valid lab with no reachability warning;
// two ids get different right answers; the guide and lab.json name the variant; --stage and
// --name still work; a bad id is reported like any other mistake.
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { scenarioGenerator } from '../generators/scenario/generator';
import type { LabModel } from '../libs/model/types';
import { renderLab } from '../libs/render';
import { loadLab, readScenario } from '../libs/spec/load';
import { SpecError } from '../libs/spec/problems';
import { structuralProblems } from '../libs/spec/schema';
import type { LabSpec } from '../libs/spec/types';
import { variantLimits, variantSpec } from '../libs/spec/variant';
import { labCli } from './helpers';

const load = (scenario: string, variant: string, profile?: 'seed' | 'fast') => loadLab(readScenario(scenario), { source: scenario, variant, profile });
const blocked = (m: LabModel) => m.spanningTree.blocked.map((p) => `${p.bridge}/${p.ifname}`).join(', ');
const masterDown = (m: LabModel) => m.vrrp[0].members.map((x) => `${x.container} ${x.masterDownInterval}`).join(', ');
const servers = (m: LabModel) => m.containers.filter((c) => c.services.includes('apache2') && !c.services.includes('haproxy')).length;
/** Hypervisor bridges whose root port does not lead straight to the root switch (the switch-down drill needs none). */
const detours = (m: LabModel) =>
  m.bridges
    .filter((b) => b.stp && m.vms.find((v) => v.name === b.vm)!.kind === 'hypervisor')
    .filter((b) => {
      const root = m.spanningTree.domains.find((d) => d.bridges.includes(b.name))!.root;
      const rootPort = m.spanningTree.bridges.find((x) => x.bridge === b.name)!.rootPort;
      const segment = b.ports.find((p) => p.ifname === rootPort)!.segment;
      return !m.links.find((l) => l.id === segment)!.ends.some((e) => e.bridge === root);
    })
    .map((b) => b.name);
const inPrivateRange = (cidr: string) => /^(10\.|172\.(1[6-9]|2\d|3[01])\.|192\.168\.)/.test(cidr);

test('the same id gives the same lab byte for byte, at every stage; another id another lab', () => {
  for (const stage of ['cp1', 'cp2', 'cp4'] as const) {
    const a = renderLab(load('practica6', 'alumno1').model, { stage });
    const b = renderLab(load('practica6', 'alumno1').model, { stage });
    assert.equal(a, b, stage);
    assert.not.equal(renderLab(load('practica6', 'alumno2').model, { stage })['lab.json'], a['lab.json'], stage);
  }
  const spec = JSON.parse(readScenario('curso3')) as LabSpec;
  assert.equal(variantSpec(spec, 'x7'), variantSpec(spec, 'x7'));
  assert.equal(spec, JSON.parse(readScenario('curso3')), 'the spec given is left as it was');
});

test('200 ids per embedded scenario: each variant passes the schema and resolution with no warning, within the limits', () => {
  for (const scenario of ['practica6', 'curso3']) {
    const spec = JSON.parse(readScenario(scenario)) as LabSpec;
    const base = loadLab(readScenario(scenario), { source: scenario }).model;
    const seen = { roots: new Set<string>(), blocked: new Set<string>(), masters: new Set<string>(), servers: new Set<number>(), vnis: new Set<number>() };
    for (let i = 0; i < 200; i++) {
      const id = `s${i}`;
      assert.equal(structuralProblems(variantSpec(spec, id)), [], `${scenario} ${id}`);
      const { model, warnings } = load(scenario, id);
      assert.equal(warnings, [], `${scenario} ${id}`);
      assert.is(model.variant, id);
      assert.equal(detours(model), [], `${scenario} ${id}`);
      for (const s of model.subnets) assert.ok(inPrivateRange(s.cidr), `${scenario} ${id} ${s.cidr}`);
      const n = servers(model);
      assert.ok(n >= Math.max(variantLimits.minServers, servers(base) - 1) && n <= servers(base) + 1, `${scenario} ${id}: ${n} servers`);
      for (const g of model.vrrp) for (const m of g.members) assert.ok(m.priority >= variantLimits.priority.low && m.priority <= variantLimits.priority.high);
      seen.roots.add(model.spanningTree.domains.map((d) => d.root).join());
      seen.blocked.add(blocked(model));
      seen.masters.add(model.vrrp[0].master);
      seen.servers.add(n);
      seen.vnis.add(model.vxlan[0].vni);
    }
    assert.is(seen.roots.size, spec.switches!.length, `${scenario}: every switch is root in some variant`);
    assert.ok(seen.blocked.size >= 4, `${scenario}: ${seen.blocked.size} different sets of blocked ports`);
    assert.is(seen.masters.size, 2, `${scenario}: either balancer is master in some variant`);
    assert.equal([...seen.servers].sort(), [servers(base) - 1, servers(base), servers(base) + 1]);
    assert.ok(seen.vnis.size > 190);
  }
});

test('two students, two right answers: alumno1 and alumno2 differ in blocked port, master and master-down interval', () => {
  const one = load('practica6', 'alumno1').model;
  const two = load('practica6', 'alumno2').model;
  assert.is(blocked(one), 'swout2/to-vswout1');
  assert.is(blocked(two), 'vswout1/to-swout2');
  assert.is(one.vrrp[0].master, 'bal2');
  assert.is(two.vrrp[0].master, 'bal1');
  assert.not.equal(masterDown(one), masterDown(two));
  // And neither is the spec as written.
  const base = loadLab(readScenario('practica6'), { source: 'practica6' }).model;
  for (const m of [one, two]) assert.not.equal(m.subnets.map((s) => s.cidr), base.subnets.map((s) => s.cidr));
});

test('nx g lab:scenario --variant with --stage and --name: lab.json records the variant, each guide names it', async () => {
  const tree = createTreeWithEmptyWorkspace();
  await scenarioGenerator(tree, { variant: 'alumno1', name: 'var1', stage: 'cp2' });
  const lab = JSON.parse(tree.read('out/var1/lab.json', 'utf-8')!) as LabModel;
  assert.is(lab.variant, 'alumno1');
  assert.is(lab.name, 'var1');
  assert.is(lab.stage, 'cp2');
  assert.match(tree.read('out/var1/README.md', 'utf-8')!, 'Variant **alumno1**');
  await scenarioGenerator(tree, { variant: 'alumno1', name: 'var1' });
  const whole = tree.read('out/var1/README.md', 'utf-8')!;
  assert.match(whole, 'Variant **alumno1**');
  assert.match(whole, load('practica6', 'alumno1').model.subnets[0].cidr);
  await scenarioGenerator(tree, { name: 'plain' });
  assert.not.ok('variant' in JSON.parse(tree.read('out/plain/lab.json', 'utf-8')!));
  assert.not.match(tree.read('out/plain/README.md', 'utf-8')!, 'Variant');
});

test('a bad variant id is a clear error, before anything is written; the CLI exits 1', async () => {
  const tree = createTreeWithEmptyWorkspace();
  try {
    await scenarioGenerator(tree, { variant: 'no spaces' });
    assert.unreachable('accepted a bad id');
  } catch (error) {
    assert.instance(error, SpecError);
    assert.match((error as Error).message, 'not a valid variant id');
  }
  assert.not.ok(tree.exists('out/practica6/lab.json'));
  const cli = labCli(['validate', '--variant', 'bad/id']);
  assert.is(cli.status, 1, cli.stderr);
  assert.match(cli.stderr, 'not a valid variant id');
  const ok = labCli(['validate', '--variant', 'alumno2']);
  assert.is(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, 'variant alumno2');
  assert.match(ok.stdout, 'blocked ports: vswout1/to-swout2');
  assert.match(ok.stdout, 'master bal1');
});

test.run();
