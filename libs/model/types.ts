// The resolved lab: everything the renderers, the twin and the checks need, nothing left to infer.
import type { ProfileName } from '../spec/profiles';

export interface SubnetModel {
  name: string;
  cidr: string;
  prefix: number;
  mtu: number;
}

export type VmKind = 'hypervisor' | 'switch' | 'user';

/** A NIC of a VirtualBox VM on one link (adapter 1 is Vagrant's NAT and is not listed). */
export interface VmNicModel {
  ifname: string;
  mac: string;
  /** VirtualBox adapter number (2…36). */
  adapter: number;
  link: string;
  /** The bridge this NIC is enslaved to, when it is a bridge port. */
  bridge: string | null;
  /** Address and prefix when the NIC itself carries one (user VMs). */
  address: string | null;
  prefix: number | null;
  /** VirtualBox promiscuous mode "allow-all": needed on every bridged NIC. */
  promiscuous: boolean;
}

export interface VmModel {
  name: string;
  kind: VmKind;
  index: number;
  box: string;
  /** Pinned from vagrant/boxes.json; null when the spec names its own box. */
  boxVersion: string | null;
  memory: number;
  cpus: number;
  /** VirtualBox allows 8 NICs on PIIX3 and 36 on ICH9. */
  chipset: 'piix3' | 'ich9';
  hostOnly: string | null;
  nics: VmNicModel[];
  bridges: string[];
  containers: string[];
}

export type PortKind = 'link' | 'vxlan' | 'container';

export interface PortModel {
  ifname: string;
  kind: PortKind;
  /** Linux assigns port numbers 1, 2, … in the order ports are enslaved. */
  portNo: number;
  priority: number;
  /** 16-bit STP port id: priority << 10 | port number (Linux), as 4 hex digits. */
  portId: string;
  cost: number;
  /** The STP segment (a link, a VXLAN segment or a container NIC) the port is on. */
  segment: string;
}

export interface BridgeModel {
  name: string;
  vm: string;
  subnet: string;
  mac: string;
  address: string | null;
  prefix: number;
  mtu: number;
  stp: boolean;
  priority: number;
  /** Linux's notation: 4 hex digits of priority, '.', 12 hex digits of MAC. */
  bridgeId: string;
  multicastSnooping: boolean;
  ports: PortModel[];
}

export interface LinkEndModel {
  vm: string;
  ifname: string;
  mac: string;
  bridge: string | null;
}

export interface LinkModel {
  /** `a:b` from the endpoint names, e.g. `swout1:vswout1`. */
  id: string;
  /** VirtualBox internal network name, unique per link. */
  intnet: string;
  subnet: string;
  ends: [LinkEndModel, LinkEndModel];
}

export interface ContainerNicModel {
  ifname: string;
  hostIfname: string;
  mac: string;
  bridge: string;
  subnet: string;
  address: string;
  prefix: number;
  mtu: number;
}

export type Service = 'keepalived' | 'haproxy' | 'apache2';

export interface ContainerModel {
  name: string;
  host: string;
  index: number;
  /** LXD image the container is launched from. */
  image: 'alpine' | 'alpineApache';
  services: Service[];
  packages: string[];
  nics: ContainerNicModel[];
}

export interface VrrpMemberModel {
  container: string;
  priority: number;
  ifname: string;
  address: string;
  /** Seconds a backup waits without adverts before it takes over (RFC 3768/5798). */
  masterDownInterval: number;
}

export interface VrrpGroupModel {
  name: string;
  vrid: number;
  vip: string;
  prefix: number;
  subnet: string;
  version: 2 | 3;
  advertInt: number;
  preempt: boolean;
  preemptDelay: number;
  /** keepalived use_vmac: the VIP answers with the VRRP virtual MAC, whoever is master. */
  virtualMac: boolean;
  /** The MAC users learn for the VIP: the virtual MAC, or null when it is the master's own. */
  vipMac: string | null;
  members: VrrpMemberModel[];
  master: string;
}

export interface HealthCheckModel {
  inter: number;
  fastinter: number;
  downinter: number;
  fall: number;
  rise: number;
  path: string | null;
}

export interface HaproxyModel {
  balancers: string[];
  retries: number;
  timeouts: { connect: number; client: number; server: number };
  frontends: Array<{ name: string; port: number; defaultBackend: string; routes: Array<{ path: string; backend: string }> }>;
  backends: Array<{
    name: string;
    balance: string;
    cookie: boolean;
    check: HealthCheckModel;
    servers: Array<{ name: string; address: string; port: number; weight: number }>;
  }>;
}

export interface VxlanMemberModel {
  vm: string;
  bridge: string;
  ifname: string;
  mac: string;
  local: string;
  /** The underlay device (the bridge that holds `local`). */
  dev: string;
  remotes: string[];
}

export interface VxlanModel {
  name: string;
  vni: number;
  port: number;
  underlay: string;
  mtu: number;
  /** More than two members: flood to every peer with one fdb entry each (head-end replication). */
  headEndReplication: boolean;
  members: VxlanMemberModel[];
}

export type PortRole = 'root' | 'designated' | 'alternate' | 'backup' | 'disabled';
export type PortState = 'forwarding' | 'blocking' | 'disabled';

export interface StpPortPrediction {
  bridge: string;
  ifname: string;
  portId: string;
  cost: number;
  role: PortRole;
  state: PortState;
  designatedBridge: string;
  designatedPort: string;
}

export interface StpBridgePrediction {
  bridge: string;
  bridgeId: string;
  rootId: string;
  rootPathCost: number;
  rootPort: string | null;
}

export interface SpanningTreeModel {
  /** One entry per layer-2 domain of STP bridges. */
  domains: Array<{ root: string; rootId: string; bridges: string[] }>;
  bridges: StpBridgePrediction[];
  ports: StpPortPrediction[];
  blocked: Array<{ bridge: string; ifname: string }>;
}

/** How far the lab is built (see stage.ts): the handout's checkpoints, bare before the first. */
export type Stage = 'bare' | 'cp1' | 'cp2' | 'cp3' | 'cp4';

export interface LabModel {
  format: 'lab-model/1';
  name: string;
  title: string;
  profile: ProfileName;
  subnets: SubnetModel[];
  stp: { helloTime: number; forwardDelay: number; maxAge: number };
  vms: VmModel[];
  bridges: BridgeModel[];
  links: LinkModel[];
  containers: ContainerModel[];
  vrrp: VrrpGroupModel[];
  haproxy: HaproxyModel | null;
  vxlan: VxlanModel[];
  spanningTree: SpanningTreeModel;
  /** Built up to this stage; absent: the whole lab (cp4). */
  stage?: Stage;
  /** The variant id the spec was varied by (libs/spec/variant.ts); absent: the spec as written. */
  variant?: string;
}
