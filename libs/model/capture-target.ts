// What `lab capture <target>` listens on: one interface of one node. Pure, one reading for every
// driver (the twin captures in the node's namespace, Vagrant on the VM or in the container).
import type { LabModel } from './types';

export interface CapturePoint {
  /** The VM or container tcpdump runs on. */
  node: string;
  /** The interface it listens on there. */
  ifname: string;
  /** What the target named, for messages: "link swout1:vswout1 at vswout1 eth2". */
  what: string;
}

/** The interfaces a node has in the model: a VM's NICs, bridges, VXLAN devices and containers' host ends; a container's NICs. */
export function nodeInterfaces(model: LabModel, node: string): string[] | null {
  const vm = model.vms.find((v) => v.name === node);
  if (vm) {
    return [
      ...vm.nics.map((n) => n.ifname),
      ...vm.bridges,
      ...model.vxlan.filter((x) => x.members.some((m) => m.vm === node)).map((x) => x.name),
      ...model.containers.filter((c) => c.host === node).flatMap((c) => c.nics.map((n) => n.hostIfname)),
    ];
  }
  const container = model.containers.find((c) => c.name === node);
  return container ? container.nics.map((n) => n.ifname) : null;
}

/**
 * The interface a capture target stands for, or an Error (with the valid names) when it names
 * nothing. A link `a:b`: the NIC of its second end, the one that keeps its carrier when the
 * guide's `down` takes the first end down (so a capture around that fault sees the whole story).
 * A bridge: its device on its VM (what the bridge floods to itself: broadcasts, multicast such as
 * VRRP, not BPDUs, which STP consumes on the ports). `node:iface`: as given.
 */
export function captureTarget(model: LabModel, target: string): CapturePoint | Error {
  const link = model.links.find((l) => l.id === target);
  if (link) {
    const end = link.ends[1];
    return { node: end.vm, ifname: end.ifname, what: `link ${target} at ${end.vm} ${end.ifname}` };
  }
  const bridge = model.bridges.find((b) => b.name === target);
  if (bridge) return { node: bridge.vm, ifname: bridge.name, what: `bridge ${target} on ${bridge.vm}` };
  const colon = target.indexOf(':');
  if (colon > 0) {
    const node = target.slice(0, colon);
    const ifname = target.slice(colon + 1);
    const interfaces = nodeInterfaces(model, node);
    if (interfaces && interfaces.includes(ifname)) return { node, ifname, what: `${node} ${ifname}` };
    if (interfaces) return new Error(`${node} has no interface "${ifname}"; its interfaces: ${interfaces.join(', ')}`);
  }
  return new Error(`unknown capture target "${target}"; give a link (${model.links.map((l) => l.id).join(', ')}), a bridge (${model.bridges.map((b) => b.name).join(', ')}) or node:interface (e.g. ${captureExample(model)})`);
}

function captureExample(model: LabModel): string {
  const c = model.containers[0];
  if (c && c.nics[0]) return `${c.name}:${c.nics[0].ifname}`;
  const v = model.vms.find((x) => x.nics.length > 0);
  return v ? `${v.name}:${v.nics[0].ifname}` : 'node:eth1';
}
