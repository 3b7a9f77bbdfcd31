// The lab's drawings, laid out by ELK (elkjs). Layer 2: VMs as boxes holding their bridges and
// containers, switch and user VMs as plain nodes, links, container NICs and the VXLAN mesh as
// edges. Layer 3: subnets, the address holders between them, the VIPs. No coordinate is placed
// by hand. Pure apart from ELK's own async API.
import ELK from 'elkjs/lib/elk.bundled.js';
import { faultTarget } from '../model/fault-target';
import type { LabModel } from '../model/types';

export interface LayoutNode {
  id: string;
  kind: 'hypervisor' | 'switch' | 'user' | 'bridge' | 'container';
  name: string;
  /** The enclosing hypervisor's node id, for bridges and containers. */
  parent: string | null;
  x: number;
  y: number;
  width: number;
  height: number;
  /** What a click takes down or up (a `twin fault` target), or null. */
  target: string | null;
}

/** An edge's end on a bridge port whose STP state the view colours, or null for a plain NIC. */
export interface PortEnd {
  bridge: string;
  port: string;
}

export interface LayoutEdge {
  id: string;
  kind: 'link' | 'nic' | 'vxlan';
  from: string;
  to: string;
  ends: [PortEnd | null, PortEnd | null];
  label: string;
  target: string | null;
}

export interface ViewLayout {
  width: number;
  height: number;
  nodes: LayoutNode[];
  edges: LayoutEdge[];
  layer3: Layer3Layout;
}

/** Layer 3: each subnet a node, each address holder (and each VIP) a node joined to its subnets. */
export interface Layer3Layout {
  width: number;
  height: number;
  nodes: Array<{ id: string; kind: 'subnet' | 'host' | 'vip'; name: string; label: string; x: number; y: number; width: number; height: number }>;
  edges: Array<{ from: string; to: string; label: string }>;
}

interface ElkNode {
  id: string;
  width?: number;
  height?: number;
  x?: number;
  y?: number;
  layoutOptions?: Record<string, string>;
  labels?: Array<{ text: string }>;
  children?: ElkNode[];
  edges?: Array<{ id: string; sources: string[]; targets: string[] }>;
}

const leaf = { width: 150, height: 40 };

export async function layoutLab(model: LabModel): Promise<ViewLayout> {
  const isTarget = (name: string) => (faultTarget(model, name) ? name : null);
  const nodes: Array<Omit<LayoutNode, 'x' | 'y' | 'width' | 'height'>> = [];
  const nodeOfEnd = (vm: string, bridge: string | null) => {
    const v = model.vms.find((x) => x.name === vm)!;
    return v.kind === 'hypervisor' && bridge ? `br:${bridge}` : `vm:${vm}`;
  };
  const children: ElkNode[] = [];
  for (const vm of model.vms) {
    const id = `vm:${vm.name}`;
    nodes.push({ id, kind: vm.kind, name: vm.name, parent: null, target: isTarget(vm.name) });
    if (vm.kind !== 'hypervisor') {
      children.push({ id, ...leaf });
      continue;
    }
    const inner: ElkNode[] = [];
    for (const b of vm.bridges) {
      nodes.push({ id: `br:${b}`, kind: 'bridge', name: b, parent: id, target: isTarget(b) });
      inner.push({ id: `br:${b}`, ...leaf });
    }
    for (const c of vm.containers) {
      nodes.push({ id: `ct:${c}`, kind: 'container', name: c, parent: id, target: isTarget(c) });
      inner.push({ id: `ct:${c}`, ...leaf });
    }
    children.push({ id, children: inner, layoutOptions: { 'elk.padding': '[top=34,left=14,bottom=14,right=14]' } });
  }
  const predicted = new Set(model.spanningTree.ports.map((p) => `${p.bridge}/${p.ifname}`));
  const portEnd = (bridge: string | null, port: string): PortEnd | null => (bridge && predicted.has(`${bridge}/${port}`) ? { bridge, port } : null);
  const edges: LayoutEdge[] = [];
  for (const l of model.links) {
    const [a, b] = l.ends;
    edges.push({ id: `link:${l.id}`, kind: 'link', from: nodeOfEnd(a.vm, a.bridge), to: nodeOfEnd(b.vm, b.bridge), ends: [portEnd(a.bridge, a.ifname), portEnd(b.bridge, b.ifname)], label: l.id, target: isTarget(l.id) });
  }
  for (const c of model.containers) {
    for (const nic of c.nics) {
      edges.push({ id: `nic:${c.name}/${nic.ifname}`, kind: 'nic', from: `ct:${c.name}`, to: `br:${nic.bridge}`, ends: [null, portEnd(nic.bridge, nic.hostIfname)], label: `${nic.ifname} ${nic.address}`, target: null });
    }
  }
  for (const x of model.vxlan) {
    for (const [i, m] of x.members.entries()) {
      for (const o of x.members.slice(i + 1)) {
        edges.push({ id: `vxlan:${x.name}:${m.vm}:${o.vm}`, kind: 'vxlan', from: `br:${m.bridge}`, to: `br:${o.bridge}`, ends: [portEnd(m.bridge, m.ifname), portEnd(o.bridge, o.ifname)], label: `${x.name} (VNI ${x.vni})`, target: isTarget(x.name) });
      }
    }
  }
  const graph: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.spacing.nodeNode': '40',
      'elk.layered.spacing.nodeNodeBetweenLayers': '60',
      'elk.padding': '[top=20,left=20,bottom=20,right=20]',
    },
    children,
    edges: edges.map((e) => ({ id: e.id, sources: [e.from], targets: [e.to] })),
  };
  const laid = (await new ELK().layout(graph as never)) as unknown as ElkNode;
  const placed = new Map<string, { x: number; y: number; width: number; height: number }>();
  const walk = (n: ElkNode, dx: number, dy: number) => {
    for (const c of n.children ?? []) {
      const x = dx + (c.x ?? 0);
      const y = dy + (c.y ?? 0);
      placed.set(c.id, { x, y, width: c.width ?? leaf.width, height: c.height ?? leaf.height });
      walk(c, x, y);
    }
  };
  walk(laid, 0, 0);
  return {
    width: laid.width ?? 0,
    height: laid.height ?? 0,
    nodes: nodes.map((n) => ({ ...n, ...placed.get(n.id)! })),
    edges,
    layer3: await layoutLayer3(model),
  };
}

async function layoutLayer3(model: LabModel): Promise<Layer3Layout> {
  const subnetOf = new Map(model.subnets.map((s, i) => [s.name, i]));
  const holders = new Map<string, Array<{ subnet: string; address: string }>>();
  const add = (host: string, subnet: string, address: string) => holders.set(host, [...(holders.get(host) ?? []), { subnet, address }]);
  for (const v of model.vms) for (const n of v.nics) if (n.address) add(v.name, model.links.find((l) => l.id === n.link)!.subnet, n.address);
  for (const b of model.bridges) if (b.address) add(b.vm, b.subnet, b.address);
  for (const c of model.containers) for (const n of c.nics) add(c.name, n.subnet, n.address);
  const nodes: Layer3Layout['nodes'] = [
    ...model.subnets.map((s) => ({ id: `subnet:${s.name}`, kind: 'subnet' as const, name: s.name, label: `${s.name} ${s.cidr}`, x: 0, y: 0, width: 180, height: 34 })),
    ...[...holders].map(([h, addresses]) => {
      const label = `${h} ${addresses.map((a) => a.address).join(' · ')}`;
      return { id: `host:${h}`, kind: 'host' as const, name: h, label, x: 0, y: 0, width: 16 + 7 * label.length, height: 30 };
    }),
    ...model.vrrp.map((g) => ({ id: `vip:${g.name}`, kind: 'vip' as const, name: g.name, label: `VIP ${g.vip}`, x: 0, y: 0, width: 200, height: 30 })),
  ];
  const edges: Layer3Layout['edges'] = [];
  for (const [host, addresses] of holders) {
    const first = Math.min(...addresses.map((a) => subnetOf.get(a.subnet)!));
    // From the host's first subnet down to the host, and from the host down to its later ones:
    // a balancer sits between the external and the internal subnet.
    for (const a of addresses) {
      const later = subnetOf.get(a.subnet)! > first;
      edges.push({ from: later ? `host:${host}` : `subnet:${a.subnet}`, to: later ? `subnet:${a.subnet}` : `host:${host}`, label: a.address });
    }
  }
  for (const g of model.vrrp) edges.push({ from: `subnet:${g.subnet}`, to: `vip:${g.name}`, label: `/${g.prefix}` });
  const graph = {
    id: 'root',
    layoutOptions: { 'elk.algorithm': 'layered', 'elk.direction': 'DOWN', 'elk.spacing.nodeNode': '24', 'elk.layered.spacing.nodeNodeBetweenLayers': '50', 'elk.padding': '[top=10,left=10,bottom=10,right=10]' },
    children: nodes.map((n) => ({ id: n.id, width: n.width, height: n.height })),
    edges: edges.map((e, i) => ({ id: `e${i}`, sources: [e.from], targets: [e.to] })),
  };
  const laid = (await new ELK().layout(graph as never)) as unknown as ElkNode;
  const at = new Map((laid.children ?? []).map((c) => [c.id, c]));
  return {
    width: laid.width ?? 0,
    height: laid.height ?? 0,
    nodes: nodes.map((n) => ({ ...n, x: at.get(n.id)?.x ?? 0, y: at.get(n.id)?.y ?? 0 })),
    edges,
  };
}
