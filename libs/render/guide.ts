// The lab guide (out/<name>/README.md): addressing, diagrams, the predicted tree and why,
// each checkpoint as commands with expected output, fault drills, the handout's questions.
import type { LabModel, StpPortPrediction } from '../model/types';
import { userPathToRoot } from '../model/paths';
import { loadServerCounts } from '../model/service';
import { interSwitchLinks, linkFailureConvergence, type LinkFailurePrediction } from '../model/link-failure';
import { render } from './template';

const id = (name: string) => name.replace(/[^A-Za-z0-9_]/g, '_');

/** Why a port blocks: the designated port of its segment offers a better priority vector. */
export function whyBlocked(model: LabModel, port: StpPortPrediction): string {
  const tree = model.spanningTree;
  const mine = tree.bridges.find((b) => b.bridge === port.bridge)!;
  const designated = tree.bridges.find((b) => b.bridgeId === port.designatedBridge)!;
  const who = `${designated.bridge} (port ${port.designatedPort})`;
  if (designated.rootPathCost < mine.rootPathCost) {
    return `${who} offers root path cost ${designated.rootPathCost} on this segment, lower than ${port.bridge}'s own ${mine.rootPathCost}; ${port.bridge} already reaches the root through ${mine.rootPort}, so this port would close a loop`;
  }
  if (designated.bridge !== port.bridge) {
    return `both ends have root path cost ${mine.rootPathCost}; ${who} wins with the lower bridge id ${designated.bridgeId} against ${mine.bridgeId}`;
  }
  return `a second port of ${port.bridge} on the same segment: port ${port.designatedPort} has the lower port id`;
}

function l2Diagram(model: LabModel): string {
  const lines = ['graph LR'];
  const blockedSegments = new Set(
    model.spanningTree.ports.filter((p) => p.state === 'blocking').map((p) => model.bridges.find((b) => b.name === p.bridge)!.ports.find((x) => x.ifname === p.ifname)!.segment),
  );
  for (const vm of model.vms) {
    if (vm.kind === 'hypervisor') {
      lines.push(`  subgraph ${id(vm.name)}["VM ${vm.name}"]`);
      for (const b of vm.bridges) lines.push(`    ${id(b)}(["${b}${model.bridges.find((x) => x.name === b)!.stp ? ' (STP)' : ''}"])`);
      for (const c of vm.containers) lines.push(`    ${id(c)}["${c}"]`);
      lines.push('  end');
    } else if (vm.kind === 'switch') {
      const root = model.spanningTree.domains.some((d) => d.root === vm.name);
      lines.push(`  ${id(vm.name)}{{"${vm.name}${root ? ' (root)' : ''}"}}`);
    } else {
      lines.push(`  ${id(vm.name)}["${vm.name}"]`);
    }
  }
  for (const link of model.links) {
    const [a, b] = link.ends.map((e) => id(e.bridge ?? e.vm));
    lines.push(blockedSegments.has(link.id) ? `  ${a} -.-|blocked| ${b}` : `  ${a} --- ${b}`);
  }
  for (const c of model.containers) for (const n of c.nics) lines.push(`  ${id(c.name)} --- ${id(n.bridge)}`);
  // Every member floods to every other (one remote, or one fdb entry per peer): a full mesh.
  for (const seg of model.vxlan) {
    seg.members.forEach((a, i) => {
      for (const b of seg.members.slice(i + 1)) lines.push(`  ${id(a.bridge)} ===|"VXLAN ${seg.name} VNI ${seg.vni}"| ${id(b.bridge)}`);
    });
  }
  return lines.join('\n');
}

function l3Diagram(model: LabModel): string {
  const lines = ['graph LR'];
  for (const s of model.subnets) lines.push(`  ${id(`net_${s.name}`)}(("${s.name}<br/>${s.cidr}"))`);
  const members: Array<[string, string, string]> = [];
  for (const vm of model.vms) {
    for (const n of vm.nics.filter((x) => x.address)) members.push([vm.name, n.address!, model.links.find((l) => l.id === n.link)!.subnet]);
  }
  for (const b of model.bridges.filter((x) => x.address)) members.push([b.vm, b.address!, b.subnet]);
  for (const c of model.containers) for (const n of c.nics) members.push([c.name, n.address, n.subnet]);
  const seen = new Set<string>();
  for (const [name] of members) {
    if (seen.has(name)) continue;
    seen.add(name);
    lines.push(`  ${id(name)}["${name}"]`);
  }
  for (const [name, address, subnet] of members) lines.push(`  ${id(name)} ---|.${address.split('.')[3]}| ${id(`net_${subnet}`)}`);
  for (const g of model.vrrp) lines.push(`  ${id(`vip_${g.name}`)}[/"VIP ${g.vip}<br/>VRRP ${g.vrid}"/] -.- ${id(`net_${g.subnet}`)}`);
  return lines.join('\n');
}

/** Each end of each inter-switch link taken down, as the guide tells students to, with what to expect. */
function linkFailures(model: LabModel): Array<{ vm: string; ifname: string; p: LinkFailurePrediction }> {
  return interSwitchLinks(model).flatMap((link) =>
    ([0, 1] as const).map((end) => ({ vm: link.ends[end].vm, ifname: link.ends[end].ifname, p: linkFailureConvergence(model, { link: link.id, how: 'down', end }) })),
  );
}

/** The first frontend's options a student can see from a user VM: weights, cookies, routes. */
function haproxyOptions(model: LabModel) {
  const fe = model.haproxy?.frontends[0];
  const backends = model.haproxy?.backends ?? [];
  const main = backends.find((b) => b.name === fe?.defaultBackend);
  return {
    weighted: main && main.servers.some((s) => s.weight !== main.servers[0].weight) ? main.servers : [],
    cookies: backends.filter((b) => b.cookie && (b === main || fe?.routes.some((r) => r.backend === b.name))),
    routes: (fe?.routes ?? []).map((r) => ({ ...r, servers: backends.find((b) => b.name === r.backend)!.servers.map((s) => s.name) })),
  };
}

export function renderGuide(model: LabModel): string {
  return render('guide/README.md.ejs', model, {
    l2Diagram: l2Diagram(model),
    l3Diagram: l3Diagram(model),
    whyBlocked: (p: StpPortPrediction) => whyBlocked(model, p),
    userPathToRoot: (user: string) => userPathToRoot(model, user),
    linkFailures: linkFailures(model),
    loadServerCounts,
    ...haproxyOptions(model),
  });
}
