// spec → model: resolves every reference, derives every name, MAC, port number and address,
// and collects every semantic problem before giving up (so a user sees them all at once).
import boxes from '../../vagrant/boxes.json';
import { namedPointer, pointer, SpecError, type Problem } from '../spec/problems';
import { profiles, type ProfileName } from '../spec/profiles';
import { nothingSetAside, type RefKind, type SetAside } from '../spec/sound-part';
import type { HealthCheckSpec, LabSpec, LinkEndObject } from '../spec/types';
import { addressRole, hostRange, networkOf, parseCidr, parseIpv4, type Cidr } from './ipv4';
import { spanningTree } from './spanning-tree';
import type {
  BridgeModel,
  ContainerModel,
  HaproxyModel,
  HealthCheckModel,
  LabModel,
  LinkModel,
  PortModel,
  Service,
  VmKind,
  VmModel,
  VrrpGroupModel,
  VxlanModel,
} from './types';

export interface ResolveOptions {
  /** Overrides the spec's profile. */
  profile?: ProfileName;
  /** Overrides the spec's name (and so the output folder). */
  name?: string;
  /** Shown in error reports. */
  source?: string;
  /** Elements left out for structural problems (see soundPart): references to them are not reported. */
  setAside?: SetAside;
}

const MAX_IFNAME = 15;
/** VirtualBox: 8 adapters with the PIIX3 chipset, 36 with ICH9. */
const PIIX3_ADAPTERS = 8;
const ICH9_ADAPTERS = 36;
const VXLAN_OVERHEAD = 50;
const DEFAULT_PORT_PRIORITY = 32;
const DEFAULT_BRIDGE_PRIORITY = 32768;
const DEFAULT_COST = 4;

const hex2 = (n: number) => n.toString(16).padStart(2, '0');
const hex4 = (n: number) => n.toString(16).padStart(4, '0');
const portIdOf = (priority: number, portNo: number) => hex4((priority << 10) | portNo);
const bridgeIdOf = (priority: number, mac: string) => `${hex4(priority)}.${mac.replace(/:/g, '')}`;
const list = (names: Iterable<string>) => [...names].sort().join(', ') || '(none)';

class Problems {
  readonly items: Problem[] = [];
  add(at: string, value: unknown, message: string, hint: string): void {
    this.items.push({ pointer: at, value, message, hint });
  }
}

/** Remembers who first claimed a unique value (a name, an address, a MAC) and reports the second. */
class Registry {
  private readonly owners = new Map<string, string>();
  constructor(
    private readonly problems: Problems,
    private readonly what: string,
    private readonly hint: string,
    /** How a message names the first claim's place (see namedPointer). */
    private readonly named: (at: string) => string,
  ) {}
  claim(value: string, at: string): boolean {
    const owner = this.owners.get(value);
    if (owner !== undefined) {
      this.problems.add(at, value, `duplicate ${this.what}: already used at ${this.named(owner)}`, this.hint);
      return false;
    }
    this.owners.set(value, at);
    return true;
  }
}

interface Endpoint {
  kind: VmKind;
  vm: string;
  bridge: string | null;
}

export function resolveLab(spec: LabSpec, options: ResolveOptions = {}): LabModel {
  const problems = new Problems();
  const profileName: ProfileName = options.profile ?? spec.profile ?? 'seed';
  const profile = profiles[profileName];
  const labName = options.name ?? spec.name;
  const named = (at: string) => namedPointer(spec, at);
  const names = new Registry(problems, 'name', 'nodes, bridges and containers share one namespace: rename one of them', named);
  const addresses = new Registry(problems, 'address', 'every interface and VIP needs its own address', named);
  const macs = new Registry(problems, 'MAC address', 'leave "mac" out to get a generated one', named);
  const setAside = options.setAside ?? nothingSetAside();
  /** Names whose definition has a problem of its own or was set aside: references to them are not reported again. */
  const unresolved = new Set<string>();
  const brokenOrSetAside = (kind: RefKind, name: string) => unresolved.has(name) || setAside.names[kind].has(name) || setAside.unnamed.has(kind);

  // Subnets.
  const subnets = new Map<string, Cidr & { name: string; cidr: string; mtu: number }>();
  spec.subnets.forEach((s, i) => {
    const cidr = parseCidr(s.cidr);
    const at = pointer('subnets', i);
    if (subnets.has(s.name)) {
      problems.add(`${at}/name`, s.name, 'duplicate subnet name', 'give every subnet its own name');
    }
    // Continue with the masked network so one typo does not flag every address of the subnet.
    const network = networkOf(cidr.network, cidr.prefix);
    if (cidr.network !== network) {
      problems.add(`${at}/cidr`, s.cidr, 'host bits are set in the network address', 'write the network address, e.g. 10.0.0.0/24');
    }
    cidr.network = network;
    for (const other of subnets.values()) {
      const prefix = Math.min(other.prefix, cidr.prefix);
      if (networkOf(other.network, prefix) === networkOf(cidr.network, prefix)) {
        problems.add(`${at}/cidr`, s.cidr, `overlaps subnet ${other.name} (${other.cidr})`, 'subnets must not overlap');
      }
    }
    subnets.set(s.name, { ...cidr, name: s.name, cidr: s.cidr, mtu: s.mtu ?? 1500 });
  });
  const knownSubnet = (name: string, at: string): boolean => {
    if (subnets.has(name)) return true;
    if (!brokenOrSetAside('subnets', name)) problems.add(at, name, 'unknown subnet', `declared subnets: ${list(subnets.keys())}`);
    return false;
  };
  const checkAddress = (address: string, subnet: string, at: string): void => {
    const cidr = subnets.get(subnet);
    if (cidr) notAHost(address, cidr, 'address', at);
    addresses.claim(address, at);
  };
  /** Reports an address that is no usable host address of `cidr`; the network and broadcast addresses by name. */
  const notAHost = (address: string, cidr: Cidr & { name: string; cidr: string }, what: string, at: string): boolean => {
    const role = addressRole(parseIpv4(address), cidr);
    if (role === 'host') return false;
    const why = role === 'outside' ? `${what} is outside subnet ${cidr.name} (${cidr.cidr})` : `${what} is the ${role} address of subnet ${cidr.name} (${cidr.cidr}), not a host address`;
    problems.add(at, address, why, `usable host addresses of ${cidr.cidr}: ${hostRange(cidr)}`);
    return true;
  };

  // VMs, in a fixed order: hypervisors, switches, users. The index is part of every generated MAC.
  const vms = new Map<string, VmModel>();
  const vmPointer = new Map<string, string>();
  const addVm = (kind: VmKind, node: { name: string; box?: string; memory?: number; cpus?: number; hostOnly?: string }, at: string) => {
    names.claim(node.name, `${at}/name`);
    const catalogue = boxes[kind];
    const vm: VmModel = {
      name: node.name,
      kind,
      index: vms.size + 1,
      box: node.box ?? catalogue.box,
      boxVersion: node.box ? null : catalogue.version,
      memory: node.memory ?? { hypervisor: 1024, switch: 256, user: 512 }[kind],
      cpus: node.cpus ?? 1,
      chipset: 'piix3',
      hostOnly: node.hostOnly ?? null,
      nics: [],
      bridges: [],
      containers: [],
    };
    if (node.hostOnly) addresses.claim(node.hostOnly, `${at}/hostOnly`);
    if (!vms.has(node.name)) {
      vms.set(node.name, vm);
      vmPointer.set(node.name, at);
    }
  };
  spec.hypervisors.forEach((h, i) => addVm('hypervisor', h, pointer('hypervisors', i)));
  (spec.switches ?? []).forEach((s, i) => addVm('switch', s, pointer('switches', i)));
  (spec.users ?? []).forEach((u, i) => addVm('user', u, pointer('users', i)));

  // Bridges: those declared in hypervisors, and the one bridge of each switch VM (named like it).
  const bridges = new Map<string, BridgeModel>();
  const bridgePointer = new Map<string, string>();
  const addBridge = (
    vm: VmModel,
    b: { name: string; subnet: string; address?: string; mac?: string; stp?: { enabled?: boolean; priority?: number }; multicastSnooping?: boolean },
    at: string,
    stpDefault: boolean | null,
  ) => {
    if (vm.kind !== 'switch') names.claim(b.name, `${at}/name`);
    if (!knownSubnet(b.subnet, `${at}/subnet`)) {
      unresolved.add(b.name);
      bridgesMissing.add(vm.name);
      return;
    }
    if (b.address) checkAddress(b.address, b.subnet, `${at}/address`);
    const mac = b.mac ?? `02:00:00:00:${hex2(vm.index)}:${hex2(vm.bridges.length + 1)}`;
    macs.claim(mac, b.mac ? `${at}/mac` : `${at} (generated bridge MAC)`);
    const priority = b.stp?.priority ?? DEFAULT_BRIDGE_PRIORITY;
    const bridge: BridgeModel = {
      name: b.name,
      vm: vm.name,
      subnet: b.subnet,
      mac,
      address: b.address ?? null,
      prefix: subnets.get(b.subnet)!.prefix,
      mtu: subnets.get(b.subnet)!.mtu,
      stp: b.stp?.enabled ?? stpDefault ?? false,
      priority,
      bridgeId: bridgeIdOf(priority, mac),
      multicastSnooping: b.multicastSnooping ?? true,
      ports: [],
    };
    vm.bridges.push(b.name);
    if (!bridges.has(b.name)) {
      bridges.set(b.name, bridge);
      bridgePointer.set(b.name, at);
    }
    // Remember explicit choices that later defaults must not override.
    explicitStp.set(b.name, b.stp?.enabled);
    explicitSnooping.set(b.name, b.multicastSnooping);
  };
  const explicitStp = new Map<string, boolean | undefined>();
  const explicitSnooping = new Map<string, boolean | undefined>();
  /** VMs with a bridge that was not resolved or was set aside (an empty array slot): what they lack may be there. */
  const bridgesMissing = new Set<string>();
  spec.hypervisors.forEach((h, i) => {
    if (Object.keys(h.bridges).length < h.bridges.length) bridgesMissing.add(h.name);
    const vm = vms.get(h.name);
    if (vm && vm.kind === 'hypervisor') h.bridges.forEach((b, j) => addBridge(vm, b, pointer('hypervisors', i, 'bridges', j), null));
  });
  (spec.switches ?? []).forEach((s, i) => {
    const vm = vms.get(s.name);
    if (vm && vm.kind === 'switch') addBridge(vm, { ...s, stp: { enabled: true, ...s.stp } }, pointer('switches', i), true);
  });

  // Links. Each end is a switch, a user or a hypervisor bridge; each becomes a NIC on its VM.
  const endpointOf = (name: string, at: string): Endpoint | null => {
    const bridge = bridges.get(name);
    const vm = vms.get(name);
    if (vm?.kind === 'switch' && bridge) return { kind: 'switch', vm: name, bridge: name };
    if (vm?.kind === 'user') return { kind: 'user', vm: name, bridge: null };
    if (bridge) return { kind: 'hypervisor', vm: bridge.vm, bridge: name };
    if (vm?.kind === 'hypervisor') {
      problems.add(at, name, 'a link cannot end on a hypervisor itself', `link one of its bridges: ${list(vm.bridges)}`);
      return null;
    }
    if (brokenOrSetAside('nodes', name)) return null;
    const known = [...bridges.keys(), ...[...vms.values()].filter((v) => v.kind === 'user').map((v) => v.name)];
    problems.add(at, name, 'unknown link end: no switch, user or hypervisor bridge has this name', `known ends: ${list(known)}`);
    return null;
  };
  const links: LinkModel[] = [];
  const linkIds = new Set<string>();
  const userLinks = new Map<string, string[]>();
  /** Nodes at an end of a link that was not resolved: how many links they have is not known. */
  const linkCountUnknown = new Set<string>(setAside.names.linkEnds);
  const portSettings = new Map<string, { cost: number; priority: number }>();
  const defaultCost = spec.stp?.cost ?? DEFAULT_COST;
  (spec.links ?? []).forEach((link, i) => {
    const at = pointer('links', i);
    const ends = link.ends.map((e): LinkEndObject => (typeof e === 'string' ? { node: e } : e));
    const resolved = ends.map((e, j) => endpointOf(e.node, typeof link.ends[j] === 'string' ? `${at}/ends/${j}` : `${at}/ends/${j}/node`));
    // A link left out leaves the link count of its ends unknown.
    const leaveOut = () => ends.forEach((e) => linkCountUnknown.add(e.node));
    const drop = (message: string, hint: string) => {
      problems.add(`${at}/ends`, link.ends, message, hint);
      leaveOut();
    };
    if (!resolved[0] || !resolved[1]) return leaveOut();
    const [a, b] = resolved as [Endpoint, Endpoint];
    if (a.vm === b.vm) return drop(`both ends are on VM ${a.vm}`, 'a link joins two different VMs');
    if (a.kind === 'user' && b.kind === 'user') {
      return drop('a link between two users has no bridge to give it a subnet', 'link each user to a switch or a hypervisor bridge');
    }
    const subnetsOfEnds = [a, b].filter((e) => e.bridge).map((e) => bridges.get(e.bridge!)!.subnet);
    if (subnetsOfEnds.length === 2 && subnetsOfEnds[0] !== subnetsOfEnds[1]) {
      return drop(`joins subnet ${subnetsOfEnds[0]} to subnet ${subnetsOfEnds[1]}`, 'a link joins two bridges of the same subnet');
    }
    let id = `${ends[0].node}:${ends[1].node}`;
    for (let n = 2; linkIds.has(id); n++) id = `${ends[0].node}:${ends[1].node}:${n}`;
    linkIds.add(id);
    const model: LinkModel = { id, intnet: `${labName}-${id.replace(/:/g, '-')}`, subnet: subnetsOfEnds[0], ends: [] as unknown as LinkModel['ends'] };
    [a, b].forEach((end, j) => {
      const spec = ends[j];
      const peer = ends[1 - j].node;
      const vm = vms.get(end.vm)!;
      const endAt = typeof link.ends[j] === 'string' ? `${at}/ends/${j}` : `${at}/ends/${j}/ifname`;
      let ifname = spec.ifname ?? `to-${peer}`;
      for (let n = 2; !spec.ifname && vm.nics.some((nic) => nic.ifname === ifname); n++) ifname = `to-${peer}-${n}`;
      if (ifname.length > MAX_IFNAME) {
        problems.add(endAt, ifname, `interface name "${ifname}" is ${ifname.length} characters; Linux allows ${MAX_IFNAME}`, 'set a shorter "ifname" on this link end');
      }
      const adapter = vm.nics.length + 2;
      const mac = spec.mac ?? `08:00:27:00:${hex2(vm.index)}:${hex2(adapter)}`;
      macs.claim(mac, spec.mac ? `${at}/ends/${j}/mac` : `${at}/ends/${j} (generated NIC MAC)`);
      vm.nics.push({ ifname, mac, adapter, link: id, bridge: end.bridge, address: null, prefix: null, promiscuous: end.bridge !== null });
      model.ends.push({ vm: end.vm, ifname, mac, bridge: end.bridge });
      if (end.kind === 'user') userLinks.set(end.vm, [...(userLinks.get(end.vm) ?? []), subnetsOfEnds[0]]);
      portSettings.set(`${id}/${j}`, { cost: spec.cost ?? link.cost ?? defaultCost, priority: spec.portPriority ?? DEFAULT_PORT_PRIORITY });
    });
    links.push(model);
  });

  // Users: exactly one link; their address lies in the subnet of the bridge they hang off.
  (spec.users ?? []).forEach((u, i) => {
    const at = pointer('users', i);
    const vm = vms.get(u.name);
    if (!vm || vm.kind !== 'user') return;
    const attached = userLinks.get(u.name) ?? [];
    if (attached.length !== 1) {
      if (!linkCountUnknown.has(u.name) && !setAside.unnamed.has('linkEnds')) {
        problems.add(at, u.name, `user VM has ${attached.length} links; it needs exactly one`, 'add one link from this user to a switch or hypervisor bridge');
      }
      addresses.claim(u.address, `${at}/address`);
      return;
    }
    checkAddress(u.address, attached[0], `${at}/address`);
    vm.nics[0].address = u.address;
    vm.nics[0].prefix = subnets.get(attached[0])!.prefix;
  });

  // VXLAN segments: validated now, because they decide bridge MTUs and port order.
  const vxlan: VxlanModel[] = [];
  const segmentNames = new Set<string>();
  const vnis = new Set<number>();
  (spec.vxlan ?? []).forEach((seg, i) => {
    const at = pointer('vxlan', i);
    if (segmentNames.has(seg.name)) problems.add(`${at}/name`, seg.name, 'duplicate VXLAN segment name', 'give every segment its own name');
    if (vnis.has(seg.vni)) problems.add(`${at}/vni`, seg.vni, 'duplicate VNI', 'every segment needs its own VNI');
    segmentNames.add(seg.name);
    vnis.add(seg.vni);
    // An unknown underlay leaves only the tunnel's carriers unchecked, not the bridges it joins.
    const underlay = knownSubnet(seg.underlay, `${at}/underlay`) ? subnets.get(seg.underlay)! : null;
    const members: VxlanModel['members'] = [];
    const hostsSeen = new Set<string>();
    let firstBridge: BridgeModel | null = null;
    seg.bridges.forEach((name, j) => {
      const bridge = bridges.get(name);
      const bat = `${at}/bridges/${j}`;
      if (!bridge || vms.get(bridge.vm)!.kind !== 'hypervisor') {
        if (!bridge && brokenOrSetAside('nodes', name)) return;
        const known = [...bridges.values()].filter((b) => vms.get(b.vm)!.kind === 'hypervisor').map((b) => b.name);
        problems.add(bat, name, 'unknown bridge: not a bridge of any hypervisor', `hypervisor bridges: ${list(known)}`);
        return;
      }
      if (hostsSeen.has(bridge.vm)) {
        problems.add(bat, name, `a second bridge on ${bridge.vm} in the same segment`, 'a VXLAN segment joins one bridge per hypervisor');
        return;
      }
      hostsSeen.add(bridge.vm);
      firstBridge ??= bridge;
      if (firstBridge.subnet !== bridge.subnet) {
        problems.add(bat, name, `is in subnet ${bridge.subnet}, the segment's first bridge in ${firstBridge.subnet}`, 'a segment joins bridges of one subnet');
        return;
      }
      if (!underlay) return;
      const vm = vms.get(bridge.vm)!;
      const carrier = [...bridges.values()].find((b) => b.vm === vm.name && b.subnet === seg.underlay && b.address);
      if (!carrier) {
        if (!bridgesMissing.has(vm.name)) problems.add(bat, name, `${vm.name} has no address in underlay subnet ${seg.underlay}`, `give one of ${vm.name}'s bridges in ${seg.underlay} an "address"`);
        return;
      }
      if (bridge.name === carrier.name) {
        problems.add(bat, name, 'a bridge cannot carry its own VXLAN tunnel', 'join internal bridges over another subnet');
        return;
      }
      const mac = `02:00:00:01:${hex2(vm.index)}:${hex2(i + 1)}`;
      macs.claim(mac, `${bat} (generated VXLAN MAC)`);
      members.push({ vm: vm.name, bridge: name, ifname: seg.name, mac, local: carrier.address!, dev: carrier.name, remotes: [] });
    });
    if (!underlay) return;
    for (const m of members) m.remotes = members.filter((o) => o !== m).map((o) => o.local);
    const mtu = underlay.mtu - VXLAN_OVERHEAD;
    for (const m of members) {
      const bridge = bridges.get(m.bridge)!;
      bridge.mtu = Math.min(bridge.mtu, mtu);
      if (explicitSnooping.get(m.bridge) === undefined) bridge.multicastSnooping = false;
    }
    vxlan.push({ name: seg.name, vni: seg.vni, port: seg.port ?? 4789, underlay: seg.underlay, mtu, headEndReplication: members.length > 2, members });
  });

  // Containers.
  const vrrpMembers = new Set((spec.vrrp ?? []).flatMap((g) => g.members.map((m) => m.container)));
  const balancers = new Set(spec.haproxy?.balancers ?? []);
  const servers = new Set((spec.haproxy?.backends ?? []).flatMap((b) => b.servers.map((s) => s.container)));
  const containers = new Map<string, ContainerModel>();
  (spec.containers ?? []).forEach((c, i) => {
    const at = pointer('containers', i);
    names.claim(c.name, `${at}/name`);
    const vm = vms.get(c.host);
    const host = vm?.kind === 'hypervisor' ? vm : null;
    if (!host) {
      unresolved.add(c.name);
      const hypervisors = [...vms.values()].filter((v) => v.kind === 'hypervisor').map((v) => v.name);
      if (vm || !brokenOrSetAside('nodes', c.host)) {
        problems.add(`${at}/host`, c.host, vm ? `${c.host} is a ${vm.kind} VM, not a hypervisor` : 'unknown hypervisor', `hypervisors: ${list(hypervisors)}`);
      }
    }
    const services: Service[] = [];
    if (vrrpMembers.has(c.name)) services.push('keepalived');
    if (balancers.has(c.name)) services.push('haproxy');
    if (servers.has(c.name)) services.push('apache2');
    const model: ContainerModel = {
      name: c.name,
      host: host?.name ?? c.host,
      index: containers.size + 1,
      image: services.includes('apache2') ? 'alpineApache' : 'alpine',
      services,
      packages: c.packages ?? [],
      nics: [],
    };
    c.nics.forEach((nic, j) => {
      const nat = `${at}/nics/${j}`;
      const bridge = bridges.get(nic.bridge);
      if (!bridge || (host && bridge.vm !== host.name)) {
        unresolved.add(c.name);
        const hint = host ? `bridges of ${host.name}: ${list(host.bridges)}` : `hypervisor bridges: ${list([...bridges.values()].filter((b) => vms.get(b.vm)!.kind === 'hypervisor').map((b) => b.name))}`;
        if (bridge) problems.add(`${nat}/bridge`, nic.bridge, `bridge ${nic.bridge} is on ${bridge.vm}, not on ${host!.name}`, hint);
        else if (!brokenOrSetAside('nodes', nic.bridge)) problems.add(`${nat}/bridge`, nic.bridge, 'unknown bridge', hint);
      }
      // The address, names and MAC of a NIC do not depend on where its bridge is.
      if (bridge) checkAddress(nic.address, bridge.subnet, `${nat}/address`);
      else addresses.claim(nic.address, `${nat}/address`);
      const ifname = nic.ifname ?? `eth${j}`;
      const hostIfname = nic.hostIfname ?? `${c.name}-${ifname}`;
      if (hostIfname.length > MAX_IFNAME) {
        problems.add(nic.hostIfname ? `${nat}/hostIfname` : nat, hostIfname, `host-side interface name "${hostIfname}" is ${hostIfname.length} characters; Linux allows ${MAX_IFNAME}`, 'set a shorter "hostIfname" (or container name)');
      }
      if (model.nics.some((n) => n.ifname === ifname)) problems.add(nat, ifname, 'duplicate interface name in this container', 'give each NIC its own "ifname"');
      const mac = nic.mac ?? `00:16:3e:00:${hex2(model.index)}:${hex2(j + 1)}`;
      // A container without a host has no index of its own: its generated MACs would collide.
      if (host || nic.mac) macs.claim(mac, nic.mac ? `${nat}/mac` : `${nat} (generated NIC MAC)`);
      if (bridge) model.nics.push({ ifname, hostIfname, mac, bridge: bridge.name, subnet: bridge.subnet, address: nic.address, prefix: bridge.prefix, mtu: bridge.mtu });
    });
    if (!host) return;
    host.containers.push(c.name);
    if (!containers.has(c.name)) containers.set(c.name, model);
  });
  const knownContainer = (name: string, at: string): ContainerModel | null => {
    if (brokenOrSetAside('containers', name)) return null;
    const c = containers.get(name);
    if (!c) problems.add(at, name, 'unknown container', `containers: ${list(containers.keys())}`);
    return c ?? null;
  };

  // Bridge ports, in the order the host script enslaves them: link NICs, VXLAN, then containers
  // as LXD starts them. Linux numbers ports 1, 2, … in that order.
  for (const bridge of bridges.values()) {
    const vm = vms.get(bridge.vm)!;
    const ports: Array<Omit<PortModel, 'portNo' | 'portId'>> = [];
    for (const link of links) {
      link.ends.forEach((end, j) => {
        if (end.bridge !== bridge.name) return;
        const { cost, priority } = portSettings.get(`${link.id}/${j}`)!;
        ports.push({ ifname: end.ifname, kind: 'link', priority, cost, segment: link.id });
      });
    }
    for (const seg of vxlan) {
      if (seg.members.some((m) => m.bridge === bridge.name)) {
        ports.push({ ifname: seg.name, kind: 'vxlan', priority: DEFAULT_PORT_PRIORITY, cost: defaultCost, segment: `vxlan:${seg.name}` });
      }
    }
    for (const name of vm.containers) {
      for (const nic of containers.get(name)?.nics ?? []) {
        if (nic.bridge === bridge.name) {
          ports.push({ ifname: nic.hostIfname, kind: 'container', priority: DEFAULT_PORT_PRIORITY, cost: defaultCost, segment: `container:${name}:${nic.ifname}` });
        }
      }
    }
    bridge.ports = ports.map((p, k) => ({ ...p, portNo: k + 1, portId: portIdOf(p.priority, k + 1) }));
    if (explicitStp.get(bridge.name) === undefined && vm.kind === 'hypervisor') {
      bridge.stp = ports.some((p) => p.kind === 'link');
    }
  }

  // Interface names are unique inside each VM (NICs, bridges, VXLAN devices, container veths).
  for (const vm of vms.values()) {
    const seen = new Map<string, string>();
    const claim = (ifname: string, what: string) => {
      const previous = seen.get(ifname);
      if (previous) {
        problems.add(vmPointer.get(vm.name)!, ifname, `interface name "${ifname}" is used twice on ${vm.name} (${previous} and ${what})`, 'rename one of them (link end "ifname", container "hostIfname")');
      }
      seen.set(ifname, what);
    };
    vm.bridges.forEach((b) => claim(b, `bridge ${b}`));
    vm.nics.forEach((n) => claim(n.ifname, `NIC on link ${n.link}`));
    vxlan.forEach((s) => s.members.filter((m) => m.vm === vm.name).forEach(() => claim(s.name, `VXLAN ${s.name}`)));
    vm.containers.forEach((c) => containers.get(c)?.nics.forEach((n) => claim(n.hostIfname, `veth of ${c}`)));
    const adapters = 1 + vm.nics.length + (vm.hostOnly ? 1 : 0);
    if (adapters > ICH9_ADAPTERS) {
      problems.add(vmPointer.get(vm.name)!, vm.name, `needs ${adapters} network adapters (NAT + ${vm.nics.length} links${vm.hostOnly ? ' + host-only' : ''}); VirtualBox allows ${ICH9_ADAPTERS}`, 'spread the links over more switches or hypervisors');
    }
    vm.chipset = adapters > PIIX3_ADAPTERS ? 'ich9' : 'piix3';
  }

  // VRRP groups.
  const vrrp: VrrpGroupModel[] = [];
  const vrids = new Map<string, string>();
  (spec.vrrp ?? []).forEach((g, i) => {
    const at = pointer('vrrp', i);
    // A bad VIP leaves only what depends on its subnet unchecked: the members' NICs there.
    let subnet = [...subnets.values()].find((s) => addressRole(parseIpv4(g.vip), s) !== 'outside') ?? null;
    if (!subnet) {
      const someSubnetLeftOut = setAside.names.subnets.size > 0 || setAside.unnamed.has('subnets');
      if (!someSubnetLeftOut) {
        problems.add(`${at}/vip`, g.vip, 'VIP is outside every subnet of the lab', `use a free host address of one of: ${[...subnets.values()].map((s) => s.cidr).join(', ')}`);
      }
    } else if (notAHost(g.vip, subnet, 'VIP', `${at}/vip`)) {
      subnet = null;
    }
    addresses.claim(g.vip, `${at}/vip`);
    if (subnet) {
      const vridKey = `${subnet.name}/${g.vrid}`;
      if (vrids.has(vridKey)) {
        problems.add(`${at}/vrid`, g.vrid, `virtual_router_id ${g.vrid} is already used in subnet ${subnet.name} at ${named(vrids.get(vridKey)!)}`, 'each VRRP group on a subnet needs its own VRID');
      }
      vrids.set(vridKey, `${at}/vrid`);
    }
    const version = g.version ?? profile.vrrp.version;
    const advertInt = g.advertInt ?? profile.vrrp.advertInt;
    if (version === 2 && !Number.isInteger(advertInt)) {
      problems.add(`${at}/advertInt`, advertInt, 'VRRPv2 advert_int is a whole number of seconds', 'use "version": 3 for sub-second adverts');
    }
    if (version === 3 && Math.round(advertInt * 100) !== advertInt * 100) {
      problems.add(`${at}/advertInt`, advertInt, 'VRRPv3 advert_int has centisecond resolution', 'use at most two decimals, e.g. 0.1');
    }
    const members: VrrpGroupModel['members'] = [];
    const priorities = new Map<number, string>();
    g.members.forEach((m, j) => {
      const mat = `${at}/members/${j}`;
      const container = knownContainer(m.container, `${mat}/container`);
      if (!container) return;
      if (members.some((x) => x.container === m.container)) {
        problems.add(`${mat}/container`, m.container, 'container is listed twice in this group', 'list each member once');
        return;
      }
      if (priorities.has(m.priority)) {
        problems.add(`${mat}/priority`, m.priority, `same priority as ${priorities.get(m.priority)}`, 'give every member of a VRRP group a different priority so the master is chosen by design');
      }
      priorities.set(m.priority, m.container);
      if (!subnet) return;
      const nic = container.nics.find((n) => n.subnet === subnet!.name);
      if (!nic) {
        problems.add(`${mat}/container`, m.container, `has no NIC in subnet ${subnet.name}, where VIP ${g.vip} lives`, `add a NIC on a bridge of subnet ${subnet.name}`);
        return;
      }
      const skew = version === 2 ? (256 - m.priority) / 256 : ((256 - m.priority) * advertInt) / 256;
      members.push({ container: m.container, priority: m.priority, ifname: nic.ifname, address: nic.address, masterDownInterval: round3(3 * advertInt + skew) });
    });
    if (!subnet || members.length === 0) return;
    const master = [...members].sort((x, y) => y.priority - x.priority)[0].container;
    const virtualMac = g.virtualMac ?? profile.vrrp.virtualMac;
    vrrp.push({
      name: g.name,
      vrid: g.vrid,
      vip: g.vip,
      prefix: subnet.prefix,
      subnet: subnet.name,
      version,
      advertInt,
      preempt: g.preempt ?? true,
      preemptDelay: g.preemptDelay ?? 0,
      virtualMac,
      vipMac: virtualMac ? `00:00:5e:00:01:${hex2(g.vrid)}` : null,
      members,
      master,
    });
  });

  // haproxy.
  let haproxy: HaproxyModel | null = null;
  if (spec.haproxy) {
    const h = spec.haproxy;
    const balancerModels = h.balancers.map((b, i) => knownContainer(b, `/haproxy/balancers/${i}`)).filter((c): c is ContainerModel => c !== null);
    const backendNames = new Set<string>();
    h.backends.forEach((b, i) => {
      if (backendNames.has(b.name)) problems.add(`/haproxy/backends/${i}/name`, b.name, 'duplicate backend name', 'give every backend its own name');
      backendNames.add(b.name);
    });
    const knownBackend = (name: string, at: string) => {
      if (!backendNames.has(name) && !brokenOrSetAside('backends', name)) problems.add(at, name, 'unknown backend', `backends: ${list(backendNames)}`);
    };
    const ports = new Map<number, string>();
    const frontendNames = new Set<string>();
    h.frontends.forEach((f, i) => {
      const at = `/haproxy/frontends/${i}`;
      if (frontendNames.has(f.name)) problems.add(`${at}/name`, f.name, 'duplicate frontend name', 'give every frontend its own name');
      frontendNames.add(f.name);
      if (ports.has(f.port)) problems.add(`${at}/port`, f.port, `port already bound by frontend ${ports.get(f.port)}`, 'each frontend needs its own port');
      ports.set(f.port, f.name);
      knownBackend(f.defaultBackend, `${at}/defaultBackend`);
      (f.routes ?? []).forEach((r, j) => knownBackend(r.backend, `${at}/routes/${j}/backend`));
    });
    const timeouts = { ...profile.timeouts, ...stripUndefined(h.timeouts ?? {}) };
    const checkOf = (local?: HealthCheckSpec): HealthCheckModel => {
      const check = { ...profile.check, path: null, ...stripUndefined(h.check ?? {}), ...stripUndefined(local ?? {}) };
      // A failing check gives up after T = min(timeout connect, inter) and the next one starts
      // fastinter after that. With fastinter = inter - T a dead server is still probed once per
      // inter and leaves the rotation T + (fall - 1) × inter to that plus inter after it died:
      // fall × inter on average when T = inter / 2, as in both profiles.
      const fastinter = check.fastinter ?? Math.max(100, check.inter - Math.min(timeouts.connect, check.inter));
      return { inter: check.inter, fastinter, downinter: check.downinter, fall: check.fall, rise: check.rise, path: check.path };
    };
    haproxy = {
      balancers: balancerModels.map((b) => b.name),
      retries: h.retries ?? profile.retries,
      timeouts,
      frontends: h.frontends.map((f) => ({ name: f.name, port: f.port, defaultBackend: f.defaultBackend, routes: f.routes ?? [] })),
      backends: h.backends.map((b, i) => ({
        name: b.name,
        balance: b.balance ?? 'roundrobin',
        cookie: b.cookie ?? false,
        check: checkOf(b.check),
        servers: b.servers.flatMap((s, j) => {
          const at = `/haproxy/backends/${i}/servers/${j}`;
          const container = knownContainer(s.container, `${at}/container`);
          if (!container) return [];
          if (b.servers.findIndex((x) => x.container === s.container) !== j) {
            problems.add(`${at}/container`, s.container, 'server is listed twice in this backend', 'list each server once');
            return [];
          }
          const nic = container.nics.find((n) => balancerModels.every((bal) => bal.nics.some((bn) => bn.subnet === n.subnet)));
          if (!nic) {
            problems.add(`${at}/container`, s.container, 'shares no subnet with every balancer', `put a NIC of ${s.container} in a subnet the balancers (${list(balancerModels.map((x) => x.name))}) reach`);
            return [];
          }
          return [{ name: s.container, address: nic.address, port: s.port ?? 80, weight: s.weight ?? 1 }];
        }),
      })),
    };
  }

  if (problems.items.length > 0) throw new SpecError(options.source ?? spec.name, problems.items, spec);

  const bridgeList = [...bridges.values()];
  return {
    format: 'lab-model/1',
    name: labName,
    title: spec.title ?? labName,
    profile: profileName,
    subnets: [...subnets.values()].map((s) => ({ name: s.name, cidr: s.cidr, prefix: s.prefix, mtu: s.mtu })),
    stp: { ...profile.stp, ...stripUndefined({ helloTime: spec.stp?.helloTime, forwardDelay: spec.stp?.forwardDelay, maxAge: spec.stp?.maxAge }) },
    vms: [...vms.values()],
    bridges: bridgeList,
    links,
    containers: [...containers.values()],
    vrrp,
    haproxy,
    vxlan,
    spanningTree: spanningTree(bridgeList),
  };
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
