// 802.1D spanning-tree prediction, as the Linux bridge computes it: the root is the lowest
// bridge id (priority, then MAC); each bridge's root port is the one with the lowest root path
// cost, then lowest sender bridge id, sender port id, own port id; on each segment the port
// with the best priority vector is designated; every other port blocks.
import type {
  PortModel,
  PortRole,
  SpanningTreeModel,
  StpBridgePrediction,
  StpPortPrediction,
} from './types';

export interface StpBridgeInput {
  name: string;
  stp: boolean;
  bridgeId: string;
  ports: Array<Pick<PortModel, 'ifname' | 'portId' | 'cost' | 'segment'>>;
}

export interface StpFaults {
  /** Segments (link ids, VXLAN names) that are cut: every port on them loses carrier. */
  downSegments?: string[];
  /** Bridges that are down (all their ports disabled). */
  downBridges?: string[];
  /**
   * Ports taken down on one end only (`ip link set … down`): the other ports of their segment
   * keep carrier, hear nothing from them and end up designated.
   */
  downPorts?: Array<{ bridge: string; ifname: string }>;
}

/** A priority vector: root id, root path cost, designated bridge id, designated port id, receiving port id. */
type Vector = [string, number, string, string, string];

function compare(a: Vector, b: Vector): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i] < b[i]) return -1;
    if (a[i] > b[i]) return 1;
  }
  return 0;
}

interface Attachment {
  bridge: StpBridgeInput;
  port: StpBridgeInput['ports'][number];
}

export function spanningTree(bridges: StpBridgeInput[], faults: StpFaults = {}): SpanningTreeModel {
  const downSegments = new Set(faults.downSegments ?? []);
  const downBridges = new Set(faults.downBridges ?? []);
  const downPorts = new Set((faults.downPorts ?? []).map((p) => `${p.bridge}/${p.ifname}`));
  const active = bridges.filter((b) => b.stp && !downBridges.has(b.name));
  const isDown = (bridge: StpBridgeInput, port: StpBridgeInput['ports'][number]) => downSegments.has(port.segment) || downPorts.has(`${bridge.name}/${port.ifname}`);

  // Which STP ports share each segment.
  const segments = new Map<string, Attachment[]>();
  for (const bridge of active) {
    for (const port of bridge.ports) {
      if (isDown(bridge, port)) continue;
      const list = segments.get(port.segment) ?? [];
      list.push({ bridge, port });
      segments.set(port.segment, list);
    }
  }
  const peersOf = (bridge: StpBridgeInput, port: Attachment['port']) =>
    (segments.get(port.segment) ?? []).filter((a) => !(a.bridge === bridge && a.port === port));

  // Root vectors by relaxation: every bridge starts believing it is the root; each round it
  // adopts the best vector offered by a neighbour. Converges in at most |bridges| rounds.
  const best = new Map<string, { vector: Vector; rootPort: string | null }>();
  for (const b of active) best.set(b.name, { vector: [b.bridgeId, 0, b.bridgeId, '', ''], rootPort: null });
  for (let round = 0; round <= active.length; round++) {
    let changed = false;
    for (const bridge of active) {
      let current: { vector: Vector; rootPort: string | null } = {
        vector: [bridge.bridgeId, 0, bridge.bridgeId, '', ''],
        rootPort: null,
      };
      for (const port of bridge.ports) {
        if (isDown(bridge, port)) continue;
        for (const peer of peersOf(bridge, port)) {
          if (peer.bridge === bridge) continue;
          const offered = best.get(peer.bridge.name)!.vector;
          const candidate: Vector = [offered[0], offered[1] + port.cost, peer.bridge.bridgeId, peer.port.portId, port.portId];
          if (compare(candidate, current.vector) < 0) current = { vector: candidate, rootPort: port.ifname };
        }
      }
      if (compare(current.vector, best.get(bridge.name)!.vector) !== 0) changed = true;
      best.set(bridge.name, current);
    }
    if (!changed) break;
  }

  // The vector a bridge would send on a port if that port were designated.
  const designatedVector = (bridge: StpBridgeInput, port: Attachment['port']): Vector => {
    const [root, cost] = best.get(bridge.name)!.vector;
    return [root, cost, bridge.bridgeId, port.portId, ''];
  };

  const ports: StpPortPrediction[] = [];
  for (const bridge of bridges.filter((b) => b.stp)) {
    for (const port of bridge.ports) {
      const base = { bridge: bridge.name, ifname: port.ifname, portId: port.portId, cost: port.cost };
      if (!active.includes(bridge) || isDown(bridge, port)) {
        ports.push({ ...base, role: 'disabled', state: 'disabled', designatedBridge: '', designatedPort: '' });
        continue;
      }
      const own = designatedVector(bridge, port);
      let winner: { vector: Vector; bridge: StpBridgeInput } = { vector: own, bridge };
      for (const peer of peersOf(bridge, port)) {
        const theirs = designatedVector(peer.bridge, peer.port);
        if (compare(theirs, winner.vector) < 0) winner = { vector: theirs, bridge: peer.bridge };
      }
      let role: PortRole;
      if (best.get(bridge.name)!.rootPort === port.ifname) role = 'root';
      else if (winner.vector === own) role = 'designated';
      else role = winner.bridge === bridge ? 'backup' : 'alternate';
      ports.push({
        ...base,
        role,
        state: role === 'root' || role === 'designated' ? 'forwarding' : 'blocking',
        designatedBridge: winner.vector[2],
        designatedPort: winner.vector[3],
      });
    }
  }

  const predictions: StpBridgePrediction[] = active.map((bridge) => {
    const { vector, rootPort } = best.get(bridge.name)!;
    return { bridge: bridge.name, bridgeId: bridge.bridgeId, rootId: vector[0], rootPathCost: vector[1], rootPort };
  });

  // Layer-2 domains: bridges that agree on a root form one tree.
  const domains = new Map<string, string[]>();
  for (const p of predictions) domains.set(p.rootId, [...(domains.get(p.rootId) ?? []), p.bridge]);

  return {
    domains: [...domains].map(([rootId, members]) => ({
      root: active.find((b) => b.bridgeId === rootId)!.name,
      rootId,
      bridges: members,
    })),
    bridges: predictions,
    ports,
    blocked: ports.filter((p) => p.state === 'blocking').map((p) => ({ bridge: p.bridge, ifname: p.ifname })),
  };
}
