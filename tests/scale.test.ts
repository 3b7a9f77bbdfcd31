// The scaled-out pattern (libs/spec/scale.ts) that the bring-up benchmark grows labs with: a
// valid spec with no reachability warning at every size it allows, servers on every host,
// balancers on two, one VXLAN segment over every host, and the same spec for the same sizes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderLab } from '../libs/render';
import { loadLab } from '../libs/spec/load';
import { scaledOutSpec } from '../libs/spec/scale';

const load = (hosts: number, containers: number) => loadLab(JSON.stringify(scaledOutSpec({ hosts, containers, profile: 'fast' })), { source: `${hosts}x${containers}` });

for (const [hosts, containers] of [[2, 3], [6, 30], [6, 60], [9, 202]]) {
  test(`${hosts} hosts, ${containers} containers: valid, servers on every host, balancers on two, one VXLAN over all`, () => {
    const { model, warnings } = load(hosts, containers);
    assert.equal(warnings, []);
    assert.is(model.containers.length, containers);
    const hypervisors = model.vms.filter((v) => v.kind === 'hypervisor').map((v) => v.name);
    assert.is(hypervisors.length, hosts);
    const servers = model.containers.filter((c) => c.name.startsWith('serv'));
    assert.is(servers.length, containers - 2);
    // Round robin: every host gets a server once there are as many servers as hosts.
    const withServers = new Set(servers.map((c) => c.host));
    assert.is(withServers.size, Math.min(hosts, containers - 2));
    assert.equal(model.containers.filter((c) => c.services.includes('keepalived')).map((c) => c.host), ['vm1', 'vm2']);
    assert.is(model.vxlan.length, 1);
    assert.equal(model.vxlan[0].members.map((m) => m.vm).sort(), [...hypervisors].sort());
    assert.is(model.vxlan[0].headEndReplication, hosts > 2);
    assert.is(model.haproxy!.backends[0].servers.length, containers - 2);
    assert.is(model.spanningTree.domains.length, 1);
    assert.is(model.spanningTree.domains[0].root, 'swout2');
  });
}

test('the same sizes give the same files, byte for byte', () => {
  assert.equal(renderLab(load(6, 30).model), renderLab(load(6, 30).model));
});

test('sizes outside the pattern are refused, naming the limit', () => {
  assert.throws(() => scaledOutSpec({ hosts: 1, containers: 10 }), /hosts: 1, expected 2 to 9/);
  assert.throws(() => scaledOutSpec({ hosts: 6, containers: 203 }), /containers: 203, expected 3 to 202/);
  assert.throws(() => scaledOutSpec({ hosts: 6, containers: 2.5 }), /containers: 2.5/);
});

test.run();
