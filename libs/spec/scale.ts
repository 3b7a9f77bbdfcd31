// The scaled-out pattern of the `escala` scenario as a function: practica6 on `hosts`
// hypervisors, every host cabled to both external switches, one VXLAN segment (head-end
// replication) joining every internal bridge, the balancers on the first two hosts and the
// servers dealt round-robin over all of them. The bring-up benchmark grows labs with it; the
// result is an ordinary spec (write it out with JSON.stringify and edit it like any other).
import type { LabSpec } from './types';

export interface ScaleOptions {
  /** Hypervisor hosts, 2 to 9 (their external bridges take 172.16.1.240 onwards). */
  hosts: number;
  /** Containers in all: two balancers and `containers - 2` servers (3 to 202). */
  containers: number;
  profile?: 'seed' | 'fast';
  name?: string;
}

export function scaledOutSpec({ hosts, containers, profile = 'seed', name = `scale${hosts}x${containers}` }: ScaleOptions): LabSpec {
  if (!Number.isInteger(hosts) || hosts < 2 || hosts > 9) throw new RangeError(`hosts: ${hosts}, expected 2 to 9`);
  if (!Number.isInteger(containers) || containers < 3 || containers > 202) throw new RangeError(`containers: ${containers}, expected 3 to 202 (two balancers and up to 200 servers)`);
  const vms = Array.from({ length: hosts }, (_, i) => `vm${i + 1}`);
  const servers = Array.from({ length: containers - 2 }, (_, i) => ({ name: `serv${i + 1}`, host: vms[i % hosts], address: `10.0.0.${i + 1}` }));
  const balancer = (i: number) => ({
    name: `bal${i + 1}`,
    host: vms[i],
    nics: [
      { bridge: `vswout${i + 1}`, address: `172.16.1.${250 + i}` },
      { bridge: `vswin${i + 1}`, address: `10.0.0.${250 + i}` },
    ],
  });
  return {
    name,
    title: `${hosts} hypervisors, ${containers} containers: servers on every host, balancers on two`,
    profile,
    subnets: [
      { name: 'external', cidr: '172.16.1.0/24' },
      { name: 'internal', cidr: '10.0.0.0/24' },
    ],
    hypervisors: vms.map((vm, i) => ({
      name: vm,
      bridges: [
        { name: `vswout${i + 1}`, subnet: 'external', address: `172.16.1.${240 + i}` },
        { name: `vswin${i + 1}`, subnet: 'internal' },
      ],
    })),
    switches: [
      { name: 'swout1', subnet: 'external' },
      { name: 'swout2', subnet: 'external', stp: { priority: 4096 } },
    ],
    users: [
      { name: 'usuario', address: '172.16.1.100' },
      { name: 'usuario2', address: '172.16.1.101' },
    ],
    links: [
      ...['swout1', 'swout2'].flatMap((sw) => vms.map((_, i) => ({ ends: [sw, `vswout${i + 1}`] }))),
      { ends: ['usuario', 'swout1'] },
      { ends: ['usuario2', 'swout2'] },
    ],
    containers: [
      balancer(0),
      balancer(1),
      ...servers.map((s) => ({ name: s.name, host: s.host, nics: [{ bridge: `vswin${vms.indexOf(s.host) + 1}`, address: s.address }] })),
    ],
    vrrp: [
      {
        name: 'vrrpext',
        vrid: 12,
        vip: '172.16.1.254',
        members: [
          { container: 'bal1', priority: 150 },
          { container: 'bal2', priority: 100 },
        ],
      },
    ],
    haproxy: {
      balancers: ['bal1', 'bal2'],
      frontends: [{ name: 'miservidor', port: 8000, defaultBackend: 'misServidores' }],
      backends: [{ name: 'misServidores', balance: 'roundrobin', servers: servers.map((s) => ({ container: s.name, port: 80 })) }],
    },
    vxlan: [{ name: 'vxin', vni: 42, port: 4789, underlay: 'external', bridges: vms.map((_, i) => `vswin${i + 1}`) }],
  } as LabSpec;
}
