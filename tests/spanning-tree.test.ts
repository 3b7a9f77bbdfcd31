// Spanning-tree predictions checked by hand against 802.1D for three topologies, after faults, and
// how long the tree takes after a link failure depending on which end goes down.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spanningTree } from '../libs/model/spanning-tree';
import { interSwitchLinks, linkFailureConvergence } from '../libs/model/link-failure';
import type { LabModel } from '../libs/model/types';
import type { LabSpec } from '../libs/spec/types';
import { fixtureModel, modelOf, practica6 } from './helpers';

const stateOf = (model: LabModel | ReturnType<typeof spanningTree>, bridge: string, ifname: string) => {
  const tree = 'spanningTree' in model ? model.spanningTree : model;
  const port = tree.ports.find((p) => p.bridge === bridge && p.ifname === ifname);
  if (!port) throw new Error(`no port ${bridge}/${ifname}`);
  return `${port.role}/${port.state}`;
};
const rootPorts = (tree: ReturnType<typeof spanningTree>) => Object.fromEntries(tree.bridges.map((b) => [b.bridge, b.rootPort]));

/** A lab of switch VMs only: enough to exercise STP. */
function switchesLab(name: string, switches: Array<{ name: string; priority?: number; mac?: string }>, links: Array<[string, string, number?]>): LabSpec {
  return {
    name,
    subnets: [{ name: 'lan', cidr: '10.9.0.0/24' }],
    hypervisors: [{ name: 'hv', bridges: [{ name: 'br0', subnet: 'lan' }] }],
    switches: switches.map((s) => ({ name: s.name, subnet: 'lan', mac: s.mac, stp: { priority: s.priority } })),
    links: links.map(([a, b, cost]) => ({ ends: [a, b], cost })),
  };
}

test('practica6: swout2 is root, swout1 blocks its port to vswout2', () => {
  const model = practica6();
  const tree = model.spanningTree;
  assert.is(tree.domains.length, 1);
  assert.is(tree.domains[0].root, 'swout2');
  // vswout1/vswout2 reach the root directly (cost 4); swout1 reaches it at cost 8 through either,
  // and the tie is broken by the lower sender bridge id: vswout1 (…0101) beats vswout2 (…0201).
  assert.equal(rootPorts(tree), { vswout1: 'to-swout2', vswout2: 'to-swout2', swout1: 'to-vswout1', swout2: null });
  assert.equal(
    tree.bridges.map((b) => [b.bridge, b.rootPathCost]),
    [['vswout1', 4], ['vswout2', 4], ['swout1', 8], ['swout2', 0]],
  );
  // On segment swout1–vswout2, vswout2 offers cost 4 against swout1's 8: vswout2 is designated.
  assert.equal(tree.blocked, [{ bridge: 'swout1', ifname: 'to-vswout2' }]);
  assert.is(stateOf(model, 'vswout2', 'to-swout1'), 'designated/forwarding');
  assert.is(stateOf(model, 'swout2', 'to-vswout1'), 'designated/forwarding');
  assert.is(stateOf(model, 'swout1', 'to-usuario'), 'designated/forwarding');
  assert.is(stateOf(model, 'vswout1', 'bal1-eth0'), 'designated/forwarding');
  // The internal bridges do not run STP and are not part of the prediction.
  assert.not.ok(tree.ports.some((p) => p.bridge === 'vswin1'));
});

test('practica6: the tree adapts to every single inter-switch link failure', () => {
  const model = practica6();
  const expected: Record<string, Array<[string, string]>> = {
    // Root swout2 loses its link to vswout1: vswout1 now hangs off swout1 (8+4 = 12).
    'swout2:vswout1': [],
    'swout2:vswout2': [],
    // swout1 loses its root port: it takes the path through vswout2 instead.
    'swout1:vswout1': [],
    // The blocked link itself fails: the tree is unchanged, nothing else blocks.
    'swout1:vswout2': [],
  };
  for (const [link, blocked] of Object.entries(expected)) {
    const tree = spanningTree(model.bridges, { downSegments: [link] });
    assert.equal(tree.blocked.map((p) => [p.bridge, p.ifname]), blocked, link);
    assert.is(tree.domains.length, 1, link);
    assert.is(tree.domains[0].root, 'swout2', link);
  }
  const cut = spanningTree(model.bridges, { downSegments: ['swout2:vswout1'] });
  assert.equal(rootPorts(cut), { vswout1: 'to-swout1', vswout2: 'to-swout2', swout1: 'to-vswout2', swout2: null });
  assert.is(cut.bridges.find((b) => b.bridge === 'vswout1')!.rootPathCost, 12);
  assert.is(stateOf(cut, 'vswout1', 'to-swout2'), 'disabled/disabled');
});

test('a port taken down on one end only: the far end keeps carrier, hears nothing and is designated', () => {
  const model = practica6();
  const tree = spanningTree(model.bridges, { downPorts: [{ bridge: 'swout2', ifname: 'to-vswout1' }] });
  assert.is(stateOf(tree, 'swout2', 'to-vswout1'), 'disabled/disabled');
  // With the cable pulled both ends are disabled; here vswout1's end is up and alone on its segment.
  assert.is(stateOf(tree, 'vswout1', 'to-swout2'), 'designated/forwarding');
  assert.equal(rootPorts(tree), { vswout1: 'to-swout1', vswout2: 'to-swout2', swout1: 'to-vswout2', swout2: null });
  assert.is(stateOf(spanningTree(model.bridges, { downSegments: ['swout2:vswout1'] }), 'vswout1', 'to-swout2'), 'disabled/disabled');
});

test('link failures in practica6: a bridge that must change a port and did not see the failure waits for max_age', () => {
  const model = practica6();
  const predict = (link: string, how: 'down' | 'unplug', end: 0 | 1 = 0) => {
    const p = linkFailureConvergence(model, how === 'down' ? { link, how, end } : { link, how });
    return `${p.case} ${p.minMs / 1000}-${p.maxMs / 1000}`;
  };
  // swout1 reaches the root through to-vswout1 and must unblock to-vswout2: down on swout1 (or the
  // cable pulled) it sees the failure; down on vm1 its port keeps carrier, and the last BPDU ages
  // out first (max_age 20 − hello 2 … 20, then 2 × forward_delay 30).
  assert.is(predict('swout1:vswout1', 'down', 0), 'seen 30-30');
  assert.is(predict('swout1:vswout1', 'unplug'), 'seen 30-30');
  assert.is(predict('swout1:vswout1', 'down', 1), 'unseen 48-50');
  // On a link of the root, vswout1 (or vswout2) loses its root port, sees it or not, and claims to
  // be root; swout1, which must unblock, only hears that worse news and ignores it until its
  // stored information ages out, whichever end goes down, even with the cable pulled.
  for (const link of ['swout2:vswout1', 'swout2:vswout2']) {
    assert.is(predict(link, 'down', 0), 'unseen 48-50', link);
    assert.is(predict(link, 'down', 1), 'unseen 48-50', link);
    assert.is(predict(link, 'unplug'), 'unseen 48-50', link);
  }
  // The blocked link: down on its blocked end or unplugged nothing changes; down on vswout2,
  // swout1's alternate port ages out and ends up forwarding onto the dead link.
  assert.is(predict('swout1:vswout2', 'down', 0), 'no-change 0-0');
  assert.is(predict('swout1:vswout2', 'unplug'), 'no-change 0-0');
  assert.is(predict('swout1:vswout2', 'down', 1), 'unseen 48-50');
  const p = linkFailureConvergence(model, { link: 'swout2:vswout1', how: 'down', end: 0 });
  assert.equal(p.rootPortLost, [{ bridge: 'vswout1', port: 'to-swout2', sees: false }]);
  assert.equal(p.deciders, [{ bridge: 'swout1', sees: false, how: 'its root path ran through swout2:vswout1; it ignores the worse news' }]);
  assert.equal(p.faults, { downPorts: [{ bridge: 'swout2', ifname: 'to-vswout1' }] });
  const fast = linkFailureConvergence(practica6('fast'), { link: 'swout2:vswout1', how: 'unplug' });
  assert.equal([fast.minMs, fast.maxMs], [9000, 10000]);
  assert.equal(interSwitchLinks(model).map((l) => l.id), ['swout1:vswout1', 'swout1:vswout2', 'swout2:vswout1', 'swout2:vswout2']);
});

test('practica6: losing root swout2 elects the lowest MAC, vswout1', () => {
  const tree = spanningTree(practica6().bridges, { downBridges: ['swout2'] });
  assert.is(tree.domains[0].root, 'vswout1');
  assert.equal(rootPorts(tree), { vswout1: null, vswout2: 'to-swout1', swout1: 'to-vswout1' });
  assert.equal(tree.blocked, []);
});

test('triangle with equal priorities: the lowest MAC is root and breaks every tie', () => {
  const model = modelOf(
    switchesLab(
      'triangle',
      [
        { name: 's1', mac: '02:00:00:00:00:03' },
        { name: 's2', mac: '02:00:00:00:00:01' },
        { name: 's3', mac: '02:00:00:00:00:02' },
      ],
      [['s1', 's2'], ['s2', 's3'], ['s1', 's3']],
    ),
  );
  const tree = model.spanningTree;
  assert.is(tree.domains[0].root, 's2');
  assert.is(tree.domains[0].rootId, '8000.020000000001');
  assert.equal(rootPorts(tree), { s1: 'to-s2', s2: null, s3: 'to-s2' });
  // On s1–s3 both offer cost 4; s3's bridge id (…02) is lower than s1's (…03).
  assert.equal(tree.blocked, [{ bridge: 's1', ifname: 'to-s3' }]);
  assert.is(stateOf(model, 's3', 'to-s1'), 'designated/forwarding');
});

test('ring where path cost decides: the direct link to the root loses to a cheaper detour', () => {
  // a(root) –19– b,  a –4– d –4– c –4– b.  b: direct 19 versus 4+4+4 = 12 through c.
  const model = modelOf(
    switchesLab(
      'ring',
      [{ name: 'a', priority: 4096 }, { name: 'b' }, { name: 'c' }, { name: 'd' }],
      [['a', 'b', 19], ['a', 'd', 4], ['d', 'c', 4], ['c', 'b', 4]],
    ),
  );
  const tree = model.spanningTree;
  assert.is(tree.domains[0].root, 'a');
  assert.equal(rootPorts(tree), { a: null, b: 'to-c', c: 'to-d', d: 'to-a' });
  assert.equal(tree.bridges.map((x) => [x.bridge, x.rootPathCost]), [['a', 0], ['b', 12], ['c', 8], ['d', 4]]);
  assert.equal(tree.blocked, [{ bridge: 'b', ifname: 'to-a' }]);
});

test('port priority and port number break the tie between parallel links', () => {
  // Two cables between the same switches: the far end picks the lower designated port id.
  const spec = switchesLab('parallel', [{ name: 'p', priority: 4096 }, { name: 'q' }], [['p', 'q'], ['p', 'q']]);
  const model = modelOf(spec);
  assert.equal(rootPorts(model.spanningTree), { p: null, q: 'to-p' });
  assert.equal(model.spanningTree.blocked, [{ bridge: 'q', ifname: 'to-p-2' }]);
  // With port priority 16 on p's second port, its id 4002 beats 8001 and the choice flips.
  spec.links![1] = { ends: [{ node: 'p', portPriority: 16 }, 'q'] };
  const flipped = modelOf(spec);
  assert.equal(rootPorts(flipped.spanningTree), { p: null, q: 'to-p-2' });
  assert.equal(flipped.spanningTree.blocked, [{ bridge: 'q', ifname: 'to-p' }]);
});

test('triple fixture: the costly direct link of ext3 to the root blocks', () => {
  const model = fixtureModel('triple');
  const tree = model.spanningTree;
  assert.is(tree.domains[0].root, 'core');
  // ext3: direct cost 100; through edge: edge reaches core via ext1 at 19+19 = 38, so 38+19 = 57.
  assert.is(tree.bridges.find((b) => b.bridge === 'ext3')!.rootPort, 'to-edge');
  assert.is(tree.bridges.find((b) => b.bridge === 'ext3')!.rootPathCost, 57);
  assert.equal(tree.blocked, [{ bridge: 'ext3', ifname: 'to-core' }]);
});

test('Linux port ids: priority << 10 | port number', () => {
  const model = practica6();
  const swout1 = model.bridges.find((b) => b.name === 'swout1')!;
  assert.equal(swout1.ports.map((p) => [p.ifname, p.portNo, p.portId]), [
    ['to-vswout1', 1, '8001'],
    ['to-vswout2', 2, '8002'],
    ['to-usuario', 3, '8003'],
  ]);
  const triple = fixtureModel('triple');
  assert.is(triple.bridges.find((b) => b.name === 'ext1')!.ports.find((p) => p.ifname === 'uplink-edge')!.portId, '4002');
});

test.run();
