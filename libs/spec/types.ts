// The lab spec as written by people: mirrors lab.schema.json.
import type { ProfileName } from './profiles';

export interface BridgeStpSpec {
  enabled?: boolean;
  priority?: number;
}

export interface BridgeSpec {
  name: string;
  subnet: string;
  address?: string;
  mac?: string;
  stp?: BridgeStpSpec;
  multicastSnooping?: boolean;
}

export interface LinkEndObject {
  node: string;
  ifname?: string;
  mac?: string;
  cost?: number;
  portPriority?: number;
}
export type LinkEndSpec = string | LinkEndObject;

export interface HealthCheckSpec {
  inter?: number;
  fastinter?: number;
  downinter?: number;
  fall?: number;
  rise?: number;
  path?: string;
}

export interface LabSpec {
  $schema?: string;
  name: string;
  title?: string;
  profile?: ProfileName;
  subnets: Array<{ name: string; cidr: string; mtu?: number }>;
  stp?: { helloTime?: number; forwardDelay?: number; maxAge?: number; cost?: number };
  hypervisors: Array<{
    name: string;
    box?: string;
    memory?: number;
    cpus?: number;
    hostOnly?: string;
    bridges: BridgeSpec[];
  }>;
  switches?: Array<{
    name: string;
    subnet: string;
    box?: string;
    memory?: number;
    hostOnly?: string;
    mac?: string;
    stp?: BridgeStpSpec;
  }>;
  users?: Array<{ name: string; address: string; box?: string; memory?: number; hostOnly?: string }>;
  links?: Array<{ ends: [LinkEndSpec, LinkEndSpec]; cost?: number }>;
  containers?: Array<{
    name: string;
    host: string;
    nics: Array<{ bridge: string; address: string; ifname?: string; hostIfname?: string; mac?: string }>;
    packages?: string[];
  }>;
  vrrp?: Array<{
    name: string;
    vrid: number;
    vip: string;
    version?: 2 | 3;
    advertInt?: number;
    preempt?: boolean;
    preemptDelay?: number;
    virtualMac?: boolean;
    members: Array<{ container: string; priority: number }>;
  }>;
  haproxy?: {
    balancers: string[];
    check?: HealthCheckSpec;
    retries?: number;
    timeouts?: { connect?: number; client?: number; server?: number };
    frontends: Array<{
      name: string;
      port: number;
      defaultBackend: string;
      routes?: Array<{ path: string; backend: string }>;
    }>;
    backends: Array<{
      name: string;
      balance?: 'roundrobin' | 'static-rr' | 'leastconn' | 'first' | 'source';
      cookie?: boolean;
      check?: HealthCheckSpec;
      servers: Array<{ container: string; port?: number; weight?: number }>;
    }>;
  };
  vxlan?: Array<{ name: string; vni: number; port?: number; underlay: string; bridges: string[] }>;
}
