// How long the spanning tree takes to re-converge after an inter-switch link fails, and why.
// What decides it is whether each bridge that held the far end's information on the link sees
// the failure. Its own port going down (`ip link set … down` on its side, or a pulled cable)
// disables the port at once: the alternate port listens and learns, 2 × forward_delay. A port
// that keeps carrier (the other end was taken down: on a VirtualBox internal network or a libvirt
// UDP tunnel the far NIC stays up) just stops receiving BPDUs; it acts only when the last one
// ages out, max_age after it arrived (so max_age − hello to max_age after the failure).
import { spanningTree, type StpFaults } from './spanning-tree';
import type { LabModel, LinkModel, PortRole } from './types';

/** A link that fails: one end taken down (the guide's command), or its cable pulled (both ends lose carrier). */
export type LinkFailure = { link: string; how: 'down'; end: 0 | 1 } | { link: string; how: 'unplug' };

export type ConvergenceCase = 'no-change' | 'seen' | 'unseen';

export interface LinkFailurePrediction {
  failure: LinkFailure;
  /**
   * `no-change`: no port changes state. `seen`: every bridge that held the far end's information
   * lost carrier on its side and reacts at once. `unseen`: a port that kept carrier holds the
   * far end's last BPDU until it ages out.
   */
  case: ConvergenceCase;
  /** Earliest and latest moment, in ms after the failure, at which every port is in its new state. */
  minMs: number;
  maxMs: number;
  /** The faults to predict the tree after the failure with. */
  faults: StpFaults;
  /** The bridges whose root port was on the link, and whether each sees the failure. */
  rootPortLost: Array<{ bridge: string; port: string; sees: boolean }>;
  /** The link's ports that heard the other end's BPDUs (root, alternate, backup), and whether each sees the failure. */
  listeners: Array<{ bridge: string; port: string; role: PortRole; sees: boolean }>;
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
  const roleBefore = (bridge: string, ifname: string): PortRole | undefined => before.ports.find((p) => p.bridge === bridge && p.ifname === ifname)?.role;
  const ends = link.ends
    .map((e, i) => ({ bridge: e.bridge, ifname: e.ifname, vm: e.vm, carrierLost: failure.how === 'unplug' || failure.end === i }))
    .filter((e): e is typeof e & { bridge: string } => e.bridge !== null && roleBefore(e.bridge, e.ifname) !== undefined);
  const listeners = ends
    .filter((e) => ['root', 'alternate', 'backup'].includes(roleBefore(e.bridge, e.ifname)!))
    .map((e) => ({ bridge: e.bridge, port: e.ifname, role: roleBefore(e.bridge, e.ifname)!, sees: e.carrierLost }));
  const rootPortLost = listeners.filter((l) => l.role === 'root').map(({ bridge, port, sees }) => ({ bridge, port, sees }));
  // Listeners that still have carrier hold the far end's last BPDU until it ages out.
  const stale = listeners.filter((l) => !l.sees);
  // Ports that change state, apart from those the failure itself disables (at once).
  const changed = after.ports.filter((p) => p.state !== 'disabled' && p.state !== before.ports.find((b) => b.bridge === p.bridge && b.ifname === p.ifname)?.state);
  const { maxAge, helloTime, forwardDelay } = model.stp;
  const how = failure.how === 'unplug' ? `${link.id} unplugged` : `${link.id} down on ${link.ends[failure.end].vm}`;
  if (changed.length === 0) {
    return { failure, case: 'no-change', minMs: 0, maxMs: 0, faults, rootPortLost, listeners, why: `${how}: no port changes state (no bridge reached the root through this link)` };
  }
  const toForwarding = changed.some((p) => p.state === 'forwarding');
  const forwardMs = toForwarding ? 2 * forwardDelay * 1000 : 0;
  const then = toForwarding
    ? `${changed.filter((p) => p.state === 'forwarding').map((p) => `${p.bridge} ${p.ifname}`).join(', ')} listen${changed.length > 1 ? '' : 's'} and learn${changed.length > 1 ? '' : 's'} for 2 × forward_delay = ${s(forwardMs)}`
    : 'ports block at once';
  if (stale.length === 0) {
    const who = rootPortLost.map((r) => `${r.bridge} loses its root port ${r.port} and sees it (${failure.how === 'down' ? 'its own port went down' : 'its port lost carrier'})`).join('; ');
    return { failure, case: 'seen', minMs: forwardMs, maxMs: forwardMs, faults, rootPortLost, listeners, why: `${how}: ${who || 'the ports on it lose carrier'}; ${then}` };
  }
  const who = stale.map((l) => `${l.bridge} ${l.port} (${l.role} port) keeps carrier and does not see it`).join('; ');
  return {
    failure,
    case: 'unseen',
    minMs: (maxAge - helloTime) * 1000 + forwardMs,
    maxMs: maxAge * 1000 + forwardMs,
    faults,
    rootPortLost,
    listeners,
    why: `${how}: ${who}: it waits for the last BPDU to age out, max_age = ${s(maxAge * 1000)} (minus up to one hello of ${s(helloTime * 1000)}); then ${then}`,
  };
}
