// The resolved model: golden file for practica6, profiles, generated names/MACs, determinism.
import { existsSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderLab, renderLabJson } from '../libs/render';
import { reachabilityWarnings } from '../libs/model/reachability';
import { buildLab, readScenario } from '../libs/spec/load';
import { fixtureModel, practica6, updateGolden } from './helpers';

const curso3 = () => buildLab(readScenario('curso3'), { source: 'curso3' });

function golden(name: string, actual: string) {
  const path = join(__dirname, 'golden', name);
  if (updateGolden) writeFileSync(path, actual);
  assert.ok(existsSync(path), `missing golden file ${name}: run UPDATE_GOLDEN=1 npm test and review it`);
  assert.fixture(actual, readFileSync(path, 'utf8'));
}

test('practica6 model equals the golden lab.json', () => {
  golden('practica6.lab.json', renderLabJson(practica6()));
});

test('triple model equals its golden lab.json', () => {
  golden('triple.lab.json', renderLabJson(fixtureModel('triple')));
});

test('curso3 model equals its golden lab.json', () => {
  golden('curso3.lab.json', renderLabJson(curso3()));
});

test('curso3: three hypervisors, two balancers, six weighted servers, /static routed, fast, VXLAN by head-end replication', () => {
  const m = curso3();
  assert.is(m.profile, 'fast');
  assert.equal(m.vms.filter((v) => v.kind === 'hypervisor').map((v) => [v.name, v.containers.join(',')]), [
    ['h1', 'lb1,web1,web2'],
    ['h2', 'lb2,web3,web4'],
    ['h3', 'web5,web6'],
  ]);
  const h = m.haproxy!;
  assert.equal(h.balancers, ['lb1', 'lb2']);
  assert.equal(h.frontends[0].routes, [{ path: '/static', backend: 'estaticos' }]);
  const [servidores, estaticos] = h.backends;
  assert.equal([servidores.name, servidores.cookie], ['servidores', true]);
  assert.equal(servidores.servers.map((s) => `${s.name}=${s.weight}`), ['web1=1', 'web2=1', 'web3=1', 'web4=1', 'web5=2', 'web6=2']);
  assert.equal([estaticos.name, estaticos.servers.map((s) => s.name)], ['estaticos', ['web2', 'web4', 'web6']]);
  const seg = m.vxlan[0];
  assert.equal([seg.headEndReplication, seg.members.map((x) => x.bridge)], [true, ['int1', 'int2', 'int3']]);
  assert.equal(seg.members[2].remotes, ['172.16.2.11', '172.16.2.12']);
  assert.equal([m.vrrp[0].vip, m.vrrp[0].master, m.vrrp[0].version], ['172.16.2.254', 'lb1', 3]);
  assert.equal(reachabilityWarnings(m), []);
});

test('practica6 carries every address, priority and link of the handout', () => {
  const m = practica6();
  const addr = (c: string) => m.containers.find((x) => x.name === c)!.nics.map((n) => `${n.address}/${n.prefix}`);
  assert.equal(addr('bal1'), ['172.16.1.250/24', '10.0.0.250/24']);
  assert.equal(addr('bal2'), ['172.16.1.251/24', '10.0.0.251/24']);
  assert.equal(['serv1', 'serv2', 'serv3'].map((s) => addr(s)[0]), ['10.0.0.1/24', '10.0.0.2/24', '10.0.0.3/24']);
  assert.equal(m.bridges.filter((b) => b.address).map((b) => [b.name, b.address]), [['vswout1', '172.16.1.240'], ['vswout2', '172.16.1.241']]);
  assert.equal(m.vms.filter((v) => v.kind === 'user').map((v) => [v.name, v.nics[0].address]), [['usuario', '172.16.1.100'], ['usuario2', '172.16.1.101']]);
  const g = m.vrrp[0];
  assert.equal([g.vrid, g.vip, g.advertInt, g.master], [12, '172.16.1.254', 1, 'bal1']);
  assert.equal(g.members.map((x) => [x.container, x.priority, x.ifname]), [['bal1', 150, 'eth0'], ['bal2', 100, 'eth0']]);
  // RFC 3768: 3 × advert + (256 − priority)/256.
  assert.equal(g.members.map((x) => x.masterDownInterval), [3.414, 3.609]);
  assert.equal(m.links.map((l) => l.id), ['swout1:vswout1', 'swout1:vswout2', 'swout2:vswout1', 'swout2:vswout2', 'usuario:swout1', 'usuario2:swout2']);
  assert.equal(m.haproxy!.backends[0].servers.map((s) => `${s.name}=${s.address}:${s.port}`), ['serv1=10.0.0.1:80', 'serv2=10.0.0.2:80', 'serv3=10.0.0.3:80']);
  assert.equal(m.haproxy!.frontends[0], { name: 'miservidor', port: 8000, defaultBackend: 'misServidores', routes: [] });
  assert.equal(m.containers.map((c) => [c.name, c.services.join('+'), c.image]), [
    ['bal1', 'keepalived+haproxy', 'alpine'],
    ['serv1', 'apache2', 'alpineApache'],
    ['serv2', 'apache2', 'alpineApache'],
    ['bal2', 'keepalived+haproxy', 'alpine'],
    ['serv3', 'apache2', 'alpineApache'],
  ]);
});

test('MACs: VirtualBox OUI on VM NICs, unique everywhere, promiscuous where bridged', () => {
  const m = practica6();
  const all = [
    ...m.vms.flatMap((v) => v.nics.map((n) => n.mac)),
    ...m.bridges.map((b) => b.mac),
    ...m.containers.flatMap((c) => c.nics.map((n) => n.mac)),
    ...m.vxlan.flatMap((s) => s.members.map((x) => x.mac)),
  ];
  assert.is(new Set(all).size, all.length);
  for (const vm of m.vms) {
    for (const nic of vm.nics) {
      assert.match(nic.mac, /^08:00:27:/);
      assert.is(nic.promiscuous, nic.bridge !== null, `${vm.name}/${nic.ifname}`);
      assert.ok(nic.ifname.length <= 15);
    }
  }
  // Every link joins exactly two NICs, each listed on its VM with the same MAC.
  for (const link of m.links) {
    for (const end of link.ends) {
      const nic = m.vms.find((v) => v.name === end.vm)!.nics.find((n) => n.link === link.id)!;
      assert.is(nic.mac, end.mac);
    }
  }
});

test('VXLAN: MTU lowered by 50 bytes, snooping off, head-end replication past two hosts', () => {
  const m = practica6();
  const seg = m.vxlan[0];
  assert.equal([seg.vni, seg.port, seg.mtu, seg.headEndReplication], [42, 4789, 1450, false]);
  assert.equal(seg.members.map((x) => [x.vm, x.bridge, x.local, x.remotes.join(',')]), [
    ['vm1', 'vswin1', '172.16.1.240', '172.16.1.241'],
    ['vm2', 'vswin2', '172.16.1.241', '172.16.1.240'],
  ]);
  const vswin1 = m.bridges.find((b) => b.name === 'vswin1')!;
  assert.equal([vswin1.mtu, vswin1.multicastSnooping, vswin1.stp], [1450, false, false]);
  assert.is(m.containers.find((c) => c.name === 'serv1')!.nics[0].mtu, 1450);
  const triple = fixtureModel('triple');
  assert.ok(triple.vxlan[0].headEndReplication);
  assert.equal(triple.vxlan[0].members[0].remotes, ['192.168.50.12', '192.168.50.13']);
});

test('profiles: seed keeps the handout timers, fast shortens them, explicit values win', () => {
  const seed = practica6('seed');
  const fast = practica6('fast');
  assert.equal(seed.stp, { helloTime: 2, forwardDelay: 15, maxAge: 20 });
  assert.equal(fast.stp, { helloTime: 1, forwardDelay: 2, maxAge: 6 });
  assert.equal([seed.vrrp[0].version, seed.vrrp[0].advertInt], [2, 1]);
  assert.equal([fast.vrrp[0].version, fast.vrrp[0].advertInt, fast.vrrp[0].virtualMac, fast.vrrp[0].vipMac], [3, 0.03, true, '00:00:5e:00:01:0c']);
  assert.equal([seed.vrrp[0].virtualMac, seed.vrrp[0].vipMac], [false, null]);
  assert.ok(fast.vrrp[0].members[0].masterDownInterval < 0.5);
  assert.equal(seed.haproxy!.backends[0].check.inter, 2000);
  assert.ok(fast.haproxy!.backends[0].check.inter < 2000);
  // triple is fast but sets its own api health check and a global check path.
  const triple = fixtureModel('triple');
  const api = triple.haproxy!.backends.find((b) => b.name === 'api')!.check;
  assert.equal([api.inter, api.fall, api.rise, api.path], [1000, 2, 1, '/index.php']);
});

test('determinism: rendering twice gives byte-identical files', () => {
  const a = renderLab(practica6());
  const b = renderLab(practica6());
  assert.equal(Object.keys(a), Object.keys(b));
  for (const path of Object.keys(a)) assert.ok(a[path] === b[path], path);
  const t1 = renderLab(fixtureModel('triple'));
  const t2 = renderLab(fixtureModel('triple'));
  for (const path of Object.keys(t1)) assert.ok(t1[path] === t2[path], path);
  const c1 = renderLab(curso3());
  const c2 = renderLab(curso3());
  for (const path of Object.keys(c1)) assert.ok(c1[path] === c2[path], path);
});

test.run();
