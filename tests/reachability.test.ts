// Layer-2 reachability warnings (libs/model/reachability.ts): realistic mistakes a valid spec can hide.
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { reachabilityWarnings } from '../libs/model/reachability';
import { buildLab, loadLab, readScenario } from '../libs/spec/load';
import type { LabSpec } from '../libs/spec/types';
import { fixtureModel, labCli, practica6 } from './helpers';

const curso3 = (edit: (spec: LabSpec) => void = () => undefined) => {
  const spec = JSON.parse(readScenario('curso3')) as LabSpec;
  edit(spec);
  return spec;
};
const warningsOf = (spec: LabSpec) => reachabilityWarnings(buildLab(JSON.stringify(spec), { source: spec.name }));
const where = (spec: LabSpec) => warningsOf(spec).map((w) => `${w.pointer} ${w.value}`);

test('the embedded scenarios and the fixtures reach everything', () => {
  assert.equal(reachabilityWarnings(practica6()), []);
  assert.equal(reachabilityWarnings(practica6('fast')), []);
  assert.equal(reachabilityWarnings(fixtureModel('triple')), []);
  assert.equal(warningsOf(curso3()), []);
});

test("a hypervisor's internal bridge left out of the VXLAN: its servers are cut off from both balancers", () => {
  const spec = curso3((s) => (s.vxlan![0].bridges = ['int1', 'int2']));
  const warnings = warningsOf(spec);
  assert.equal(
    warnings.map((w) => `${w.pointer} ${w.value}`),
    ['/haproxy/backends/0/servers/4/container web5', '/haproxy/backends/0/servers/5/container web6', '/haproxy/backends/1/servers/2/container web6'],
  );
  assert.is(warnings[0].message, 'web5 (10.10.0.5 on int3) cannot be reached at layer 2 by lb1 (on int1) or lb2 (on int2), which serve backend servidores: it will never get a request');
  assert.is(warnings[0].hint, 'add int3 to VXLAN segment vxint, or put web5 on a bridge that segment joins');
});

test('practica6 before the VXLAN (checkpoint 3): serv3 reaches only bal2, serv1 and serv2 only bal1', () => {
  const spec = JSON.parse(readScenario('practica6')) as LabSpec;
  delete spec.vxlan;
  const warnings = warningsOf(spec);
  assert.equal(
    warnings.map((w) => `${w.value}: ${w.message.split(': ')[1]}`),
    ['serv1: only bal1 will send it requests', 'serv2: only bal1 will send it requests', 'serv3: only bal2 will send it requests'],
  );
  assert.is(warnings[2].hint, 'join vswin2 to vswin1 (a VXLAN segment or a link), or put serv3 on a bridge joined to them');
});

test("a hypervisor cut off from the switches: its tunnel end, its servers, its balancer's VRRP and users", () => {
  const spec = curso3((s) => (s.links = s.links!.filter((l) => !l.ends.includes('ext2'))));
  assert.equal(where(spec), [
    '/vxlan/0/bridges/1 int2',
    '/haproxy/backends/0/servers/0/container web1',
    '/haproxy/backends/0/servers/1/container web2',
    '/haproxy/backends/0/servers/2/container web3',
    '/haproxy/backends/0/servers/3/container web4',
    '/haproxy/backends/0/servers/4/container web5',
    '/haproxy/backends/0/servers/5/container web6',
    '/haproxy/backends/1/servers/0/container web2',
    '/haproxy/backends/1/servers/1/container web4',
    '/haproxy/backends/1/servers/2/container web6',
    '/vrrp/0/members/1/container lb2',
    '/vrrp/0/members/1/container lb2',
  ]);
  const [tunnel, , , , , , , , , , split, unreached] = warningsOf(spec);
  assert.is(tunnel.message, "h2's tunnel end (172.16.2.12 on ext2) cannot reach h1's (172.16.2.11 on ext1) at layer 2: int2 stays cut off from int1");
  assert.is(split.message, 'lb2 (on ext2) cannot hear the VRRP adverts of lb1 (on ext1): both will hold VIP 172.16.2.254');
  assert.is(unreached.message, "no user reaches lb2's NIC in subnet externa (on ext2) at layer 2: while it holds VIP 172.16.2.254, u1, u2 lose the service");
});

test('a user on a switch no balancer reaches, and a user in another subnet', () => {
  const spec = curso3((s) => {
    s.subnets.push({ name: 'otra', cidr: '192.168.9.0/24' });
    s.switches!.push({ name: 'sw3', subnet: 'externa' }, { name: 'sw4', subnet: 'otra' });
    s.users!.push({ name: 'u3', address: '172.16.2.103' }, { name: 'u4', address: '192.168.9.4' });
    s.links!.push({ ends: ['u3', 'sw3'] }, { ends: ['u4', 'sw4'] });
  });
  const warnings = warningsOf(spec);
  assert.equal(warnings.map((w) => `${w.pointer} ${w.value}`), ['/users/2 u3', '/users/3 u4']);
  assert.is(warnings[0].message, "no VRRP member is on u3's layer-2 domain (sw3): u3 cannot reach 172.16.2.254");
  assert.is(warnings[1].message, 'u4 is in subnet otra, no VIP is (172.16.2.254 in externa): the balancers do not route, so u4 cannot reach the service');
});

test('warnings come formatted like errors, with named pointers; lab validate prints them and still says valid', () => {
  const spec = curso3((s) => (s.vxlan![0].bridges = ['int1', 'int2']));
  const { warningReport } = loadLab(JSON.stringify(spec), { source: 'cut.json' });
  assert.is(
    warningReport!.split('\n').slice(0, 4).join('\n'),
    [
      'cut.json: 3 warnings',
      '  /haproxy/backends/0 (servidores)/servers/4/container = "web5"',
      '    web5 (10.10.0.5 on int3) cannot be reached at layer 2 by lb1 (on int1) or lb2 (on int2), which serve backend servidores: it will never get a request',
      '    hint: add int3 to VXLAN segment vxint, or put web5 on a bridge that segment joins',
    ].join('\n'),
  );
  const dir = mkdtempSync(join(tmpdir(), 'lab-reach-'));
  try {
    const file = join(dir, 'cut.json');
    writeFileSync(file, JSON.stringify(spec));
    for (const command of [['validate', file], ['render', file, '--out-dir', dir]]) {
      const run = labCli(command);
      assert.is(run.status, 0, run.stderr);
      assert.match(run.stderr, `${file}: 3 warnings`);
      assert.match(run.stdout, command[0] === 'validate' ? 'valid (lab curso3' : 'curso3: ');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
