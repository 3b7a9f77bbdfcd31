// Stages: the lab built up to one of the handout's checkpoints, as a student meets it. A stage's
// model holds only what is configured by then; the renderers, the twin and the checks read it.
//   bare: VMs wired, packages installed, LXD and its image ready, nothing configured;
//   cp1: + the external network (bridges, STP, addresses);  cp2: + the balancers with VRRP;
//   cp3: + the servers, the internal bridges and haproxy (no VXLAN);  cp4: everything.
import { spanningTree } from './spanning-tree';
import type { BridgeModel, ContainerModel, LabModel, PortModel, Service, Stage } from './types';

export type { Stage };
export const stages: readonly Stage[] = ['bare', 'cp1', 'cp2', 'cp3', 'cp4'];
/** The whole lab: what a model without a `stage` is. */
export const fullStage: Stage = 'cp4';

export const isStage = (value: unknown): value is Stage => (stages as readonly unknown[]).includes(value);
export const stageOf = (model: Pick<LabModel, 'stage'>): Stage => model.stage ?? fullStage;
/** True when `stage` includes what `at` adds (cp3 includes cp1). */
export const builtBy = (stage: Stage, at: Stage) => stages.indexOf(stage) >= stages.indexOf(at);
/** The stage after this one (null after cp4). */
export const nextStage = (stage: Stage): Stage | null => stages[stages.indexOf(stage) + 1] ?? null;

/** The handout's checkpoint each stage completes, with its weight. */
export const checkpoints: Record<Exclude<Stage, 'bare'>, { number: number; title: string; weight: number }> = {
  cp1: { number: 1, title: 'the external network with STP', weight: 25 },
  cp2: { number: 2, title: 'the balancers with VRRP', weight: 30 },
  cp3: { number: 3, title: 'the servers and haproxy, before the VXLAN', weight: 30 },
  cp4: { number: 4, title: 'the VXLAN joining the internal network', weight: 15 },
};

export function unknownStageMessage(value: unknown): string {
  return `unknown stage ${JSON.stringify(value)}: stages are ${stages.join(', ')} (default ${fullStage}, the whole lab)`;
}

const portIdOf = (priority: number, portNo: number) => ((priority << 10) | portNo).toString(16).padStart(4, '0');

/**
 * The model of the lab built up to `stage`. cp4 returns the model itself (no `stage` field), so
 * the whole lab renders exactly as it always has. Port numbers follow the ports that exist.
 */
export function stageModel(model: LabModel, stage: Stage): LabModel {
  if (!isStage(stage)) throw new Error(unknownStageMessage(stage));
  if (stage === fullStage) return model;
  const at = (s: Stage) => builtBy(stage, s);
  // Bridges of the external network carry VM-to-VM links; internal ones only containers and VXLAN.
  const linkSubnets = new Set(model.links.map((l) => l.subnet));
  const vrrpSubnets = new Set(model.vrrp.map((g) => g.subnet));
  const balancers = new Set(model.vrrp.flatMap((g) => g.members.map((m) => m.container)));
  const containers: ContainerModel[] = !at('cp2')
    ? []
    : at('cp3')
      ? model.containers
      : model.containers
          .filter((c) => balancers.has(c.name))
          .map((c) => ({ ...c, services: c.services.filter((s): s is Service => s === 'keepalived'), nics: c.nics.filter((n) => vrrpSubnets.has(n.subnet)) }));
  const containerPorts = new Set(containers.flatMap((c) => c.nics.map((n) => n.hostIfname)));
  const keepBridge = (b: BridgeModel) => at('cp1') && (linkSubnets.has(b.subnet) || at('cp3'));
  const bridges: BridgeModel[] = model.bridges.filter(keepBridge).map((b) => {
    const kept = b.ports.filter((p) => p.kind === 'link' || (p.kind === 'container' && containerPorts.has(p.ifname)));
    const ports: PortModel[] = kept.map((p, k) => ({ ...p, portNo: k + 1, portId: portIdOf(p.priority, k + 1) }));
    return { ...b, ports };
  });
  const bridgeNames = new Set(bridges.map((b) => b.name));
  const onBridge = (bridge: string | null) => (bridge && bridgeNames.has(bridge) ? bridge : null);
  const containerNames = new Set(containers.map((c) => c.name));
  const vms = model.vms.map((vm) => ({
    ...vm,
    nics: vm.nics.map((n) => ({ ...n, bridge: onBridge(n.bridge), address: at('cp1') ? n.address : null, prefix: at('cp1') ? n.prefix : null })),
    bridges: vm.bridges.filter((b) => bridgeNames.has(b)),
    containers: vm.containers.filter((c) => containerNames.has(c)),
  }));
  const links = model.links.map((l) => ({ ...l, ends: l.ends.map((e) => ({ ...e, bridge: onBridge(e.bridge) })) as typeof l.ends }));
  return {
    ...model,
    stage,
    vms,
    bridges,
    links,
    containers,
    vrrp: at('cp2') ? model.vrrp : [],
    haproxy: at('cp3') ? model.haproxy : null,
    vxlan: [],
    spanningTree: spanningTree(bridges),
  };
}
