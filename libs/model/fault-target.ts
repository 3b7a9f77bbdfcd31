// What a fault target names in a lab: a link `a:b`, a daemon `container:service`, a VXLAN
// segment, a hypervisor bridge, a VM or a container. One reading for every driver.
import type { BridgeModel, ContainerModel, LabModel, LinkModel, VmModel, VxlanModel } from './types';

/**
 * What a fault does. `down`: what the lab guide tells a student, `ip link set … down` (on a link,
 * on its first end only: the other end keeps its carrier, as on a VirtualBox internal network or
 * a libvirt UDP tunnel, and just stops receiving). `unplug`: a link's cable pulled, both ends lose
 * carrier. `up`: heals either.
 */
export type FaultAction = 'down' | 'up' | 'unplug';
export const faultActions: readonly FaultAction[] = ['down', 'up', 'unplug'];

export type FaultTarget =
  | { kind: 'link'; link: LinkModel }
  | { kind: 'daemon'; container: ContainerModel; service: string }
  | { kind: 'vxlan'; segment: VxlanModel }
  | { kind: 'bridge'; bridge: BridgeModel }
  | { kind: 'vm'; vm: VmModel }
  | { kind: 'container'; container: ContainerModel };

/** The target `name` stands for, or null when it names nothing in the lab. */
export function faultTarget(model: LabModel, name: string): FaultTarget | null {
  const link = model.links.find((l) => l.id === name);
  if (link) return { kind: 'link', link };
  const [containerName, service] = name.split(':');
  const container = model.containers.find((c) => c.name === containerName);
  if (container && service) return { kind: 'daemon', container, service };
  const segment = model.vxlan.find((s) => s.name === name);
  if (segment) return { kind: 'vxlan', segment };
  // A switch VM's bridge has the VM's name: the name means the whole switch.
  const bridge = model.bridges.find((b) => b.name === name && model.vms.find((v) => v.name === b.vm)!.kind === 'hypervisor');
  if (bridge) return { kind: 'bridge', bridge };
  const vm = model.vms.find((v) => v.name === name);
  if (vm) return { kind: 'vm', vm };
  if (container) return { kind: 'container', container };
  return null;
}

/** Every name faultTarget understands, for error messages. */
export function faultTargetNames(model: LabModel): string[] {
  const names = [
    ...model.links.map((l) => l.id),
    ...model.vxlan.map((x) => x.name),
    ...model.bridges.map((b) => b.name),
    ...model.vms.map((v) => v.name),
    ...model.containers.flatMap((x) => [x.name, ...x.services.map((s) => `${x.name}:${s}`)]),
  ];
  return [...new Set(names)];
}
