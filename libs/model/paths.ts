// Paths through the predicted spanning tree.
import type { LabModel } from './types';

/** The bridges a user's frames cross to reach the STP root, following root ports. */
export function userPathToRoot(model: LabModel, user: string): string[] {
  const nic = model.vms.find((v) => v.name === user)!.nics[0];
  const link = model.links.find((l) => l.id === nic.link)!;
  let bridge = link.ends.find((e) => e.vm !== user)!.bridge;
  const path: string[] = [];
  while (bridge && !path.includes(bridge)) {
    path.push(bridge);
    const rootPort = model.spanningTree.bridges.find((b) => b.bridge === bridge)?.rootPort;
    const port = model.bridges.find((b) => b.name === bridge)!.ports.find((p) => p.ifname === rootPort);
    const next = port && model.links.find((l) => l.id === port.segment)?.ends.find((e) => e.bridge !== bridge);
    bridge = next ? next.bridge : null;
  }
  return path;
}
