// How long the spanning tree takes to re-converge after an inter-switch link fails, and why.
// A Linux bridge (802.1D) takes in only better information: worse news from its designated bridge
// is ignored until the stored information ages out, max_age after it last arrived (so
// max_age − hello to max_age after the failure). So what decides the time is whether each bridge
// that must change a port sees the failure itself: its own port on the link went down (`ip link
// set … down` on its side, or a pulled cable) and it recomputes at once; or not (on a VirtualBox
// internal network or a libvirt UDP tunnel the far NIC keeps carrier, and a bridge whose root
// path ran through the link only hears worse news), and it waits for max_age. A port that must
// forward then listens and learns, 2 × forward_delay.
import { spanningTree, type StpFaults } from './spanning-tree';
import type { LabModel, LinkModel } from './types';

/** A link that fails: one end taken down (the guide's command), or its cable pulled (both ends lose carrier). */
export type LinkFailure = { link: string; how: 'down'; end: 0 | 1 } | { link: string; how: 'unplug' };

export type ConvergenceCase = 'no-change' | 'seen' | 'unseen';

export interface LinkFailurePrediction {
  failure: LinkFailure;
  /**
   * `no-change`: no port changes state. `seen`: every bridge that must change a port saw the
   * failure on its own port and acts at once. `unseen`: one of them did not, and acts only when
   * its stored information ages out.
   */
  case: ConvergenceCase;
  /** Earliest and latest moment, in ms after the failure, at which every port is in its new state. */
  minMs: number;
  maxMs: number;
  /** The faults to predict the tree after the failure with. */
  faults: StpFaults;
  /** The bridges whose root port was on the link, and whether each sees the failure. */
  rootPortLost: Array<{ bridge: string; port: string; sees: boolean }>;
  /** The bridges that must change a port's state, whether each sees the failure, and how it learns of it. */
  deciders: Array<{ bridge: string; sees: boolean; how: string }>;
  /** One sentence for people: what happens and why it takes that long. */
  why: string;
}

type Model = Pick<LabModel, 'bridges' | 'links' | 'stp'>;

/** Links between two bridges that run STP: the ones whose failure the tree must survive. */
export function interSwitchLinks(model: Pick<LabModel, 'bridges' | 'links'>): LinkModel[] {
  return model.links.filter((l) => l.ends.every((e) => e.bridge && model.bridges.find((b) => b.name === e.bridge)?.stp));
}

/** The faults a link failure puts on the spanning tree. */
export function linkFailureFaults(model: Pick<LabModel, 'bridges' | 'links'>, failure: LinkFailure): StpFaults {
  if (failure.how === 'unplug') return { downSegments: [failure.link] };
  const end = linkOf(model, failure.link).ends[failure.end];
  return { downPorts: end.bridge ? [{ bridge: end.bridge, ifname: end.ifname }] : [] };
}

function linkOf(model: Pick<LabModel, 'links'>, id: string): LinkModel {
  const link = model.links.find((l) => l.id === id);
  if (!link) throw new Error(`no link ${id}`);
  return link;
}

const s = (ms: number) => `${Number((ms / 1000).toFixed(2))} s`;

export function linkFailureConvergence(model: Model, failure: LinkFailure): LinkFailurePrediction {
  const link = linkOf(model, failure.link);
  const faults = linkFailureFaults(model, failure);
  const before = spanningTree(model.bridges);
  const after = spanningTree(model.bridges, faults);
  const portBefore = (bridge: string, ifname: string) => before.ports.find((p) => p.bridge === bridge && p.ifname === ifname);
  // The link's ends on STP bridges, and whether each loses carrier (or is itself taken down).
  const ends = link.ends
    .map((e, i) => ({ bridge: e.bridge, ifname: e.ifname, lost: failure.how === 'unplug' || failure.end === i }))
    .filter((e): e is typeof e & { bridge: string } => e.bridge !== null && portBefore(e.bridge, e.ifname) !== undefined);
  const rootPortLost = ends.filter((e) => portBefore(e.bridge, e.ifname)!.role === 'root').map((e) => ({ bridge: e.bridge, port: e.ifname, sees: e.lost }));
  // Ports that change state, apart from those the failure itself disables (at once).
  const changed = after.ports.filter((p) => p.state !== 'disabled' && p.state !== portBefore(p.bridge, p.ifname)?.state);
  const { maxAge, helloTime, forwardDelay } = model.stp;
  const how = failure.how === 'unplug' ? `${link.id} unplugged` : `${link.id} down on ${link.ends[failure.end].vm}`;
  const deciders = [...new Set(changed.map((p) => p.bridge))].map((bridge) => {
    const own = ends.find((e) => e.bridge === bridge);
    if (own?.lost) return { bridge, sees: true, how: failure.how === 'unplug' ? `its port ${own.ifname} lost carrier` : `its own port ${own.ifname} went down` };
    if (own) return { bridge, sees: false, how: `its port ${own.ifname} keeps carrier and hears nothing` };
    if (rootPathCrosses(model, before, bridge, link.id)) return { bridge, sees: false, how: `its root path ran through ${link.id}; it ignores the worse news` };
    return { bridge, sees: false, how: 'a neighbour\'s old, better information must age out first' };
  });
  if (changed.length === 0) {
    return { failure, case: 'no-change', minMs: 0, maxMs: 0, faults, rootPortLost, deciders, why: `${how}: no port changes state` };
  }
  const toForwarding = changed.filter((p) => p.state === 'forwarding');
  const forwardMs = toForwarding.length > 0 ? 2 * forwardDelay * 1000 : 0;
  const then = toForwarding.length > 0 ? `${toForwarding.map((p) => `${p.bridge} ${p.ifname}`).join(', ')} then listens and learns for 2 × forward_delay = ${s(forwardMs)}` : 'then ports block at once';
  const who = deciders.map((d) => `${d.bridge}: ${d.how}`).join('; ');
  if (deciders.every((d) => d.sees)) {
    return { failure, case: 'seen', minMs: forwardMs, maxMs: forwardMs, faults, rootPortLost, deciders, why: `${how}: ${who}, and acts at once; ${then}` };
  }
  return {
    failure,
    case: 'unseen',
    minMs: (maxAge - helloTime) * 1000 + forwardMs,
    maxMs: maxAge * 1000 + forwardMs,
    faults,
    rootPortLost,
    deciders,
    why: `${how}: ${who}: it acts when its stored information ages out, max_age = ${s(maxAge * 1000)} (less up to one hello of ${s(helloTime * 1000)}); ${then}`,
  };
}

/** True when a bridge's path to the root, following root ports, crosses the segment `segment`. */
function rootPathCrosses(model: Model, tree: ReturnType<typeof spanningTree>, bridge: string, segment: string): boolean {
  const seen = new Set<string>();
  for (let b: string | undefined = bridge; b && !seen.has(b); ) {
    seen.add(b);
    const rootPort = tree.bridges.find((x) => x.bridge === b)?.rootPort;
    const port = rootPort ? model.bridges.find((x) => x.name === b)!.ports.find((p) => p.ifname === rootPort) : undefined;
    if (!port) return false;
    if (port.segment === segment) return true;
    const designated = tree.ports.find((p) => p.bridge === b && p.ifname === rootPort)!.designatedBridge;
    b = tree.bridges.find((x) => x.bridgeId === designated)?.bridge;
  }
  return false;
}
