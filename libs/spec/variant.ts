// Variants: one lab per student. A variant is a pure function spec → spec, applied before
// resolution, so the guide, the predicted tree, the figures and the checks all follow it. Every
// choice is drawn from a hash of the variant id and a label naming the choice (no Math.random):
// the same id always gives the same spec, and a choice does not shift when another is added.
import { createHash } from 'crypto';
import { resolveLab } from '../model/resolve';
import { SpecError } from './problems';
import type { LabSpec, LinkEndSpec } from './types';

export const variantIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function variantIdProblem(id: string): string | null {
  return variantIdPattern.test(id) ? null : 'a variant id is 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit (e.g. a student id: alumno07)';
}

/** A SpecError for a bad id, in the report format of every other mistake. */
export function checkVariantId(id: string): void {
  const problem = variantIdProblem(id);
  if (problem) throw new SpecError('--variant', [{ pointer: '', value: id, message: 'not a valid variant id', hint: problem }]);
}

/** A number in [0, n) for the choice `label` of variant `id`. */
function draw(id: string, label: string, n: number): number {
  const digest = createHash('sha256').update(`lab-variant/1\n${id}\n${label}`).digest();
  return Number(digest.readBigUInt64BE(0) % BigInt(n));
}
const pick = <T>(id: string, label: string, items: readonly T[]): T => items[draw(id, label, items.length)];

// Addresses as 32-bit numbers.
const toInt = (a: string) => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
const toDotted = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
const blockSize = (prefix: number) => 2 ** (32 - prefix);
const networkOf = (a: number, prefix: number) => a - (a % blockSize(prefix));

/** The private ranges (RFC 1918) a subnet is moved within: it stays in the range it is written in. */
const privateRanges = [
  { base: toInt('10.0.0.0'), prefix: 8 },
  { base: toInt('172.16.0.0'), prefix: 12 },
  { base: toInt('192.168.0.0'), prefix: 16 },
];
/** Networks hosts commonly use already: LXC's lxcbr0, Docker, libvirt's and VirtualBox's host-only networks. */
const avoided = [
  ['10.0.3.0', 24],
  ['172.17.0.0', 16],
  ['192.168.121.0', 24],
  ['192.168.56.0', 21],
].map(([a, p]) => ({ network: toInt(a as string), prefix: p as number }));
const overlaps = (a: { network: number; prefix: number }, b: { network: number; prefix: number }) => {
  const prefix = Math.min(a.prefix, b.prefix);
  return networkOf(a.network, prefix) === networkOf(b.network, prefix);
};

/** Limits of the variant's choices. */
export const variantLimits = {
  /** Root bridge priority: one of these (a multiple of 4096, below the default 32768). */
  rootPriorities: [4096, 8192, 12288],
  /** Cost of each link between bridges. */
  costs: [2, 4, 10, 19, 50, 100],
  /** VRRP priorities drawn from [low, high]. */
  priority: { low: 50, high: 250 },
  /** VNIs drawn from [low, high]. */
  vni: { low: 100, high: 99999 },
  /** The servers: at least this many, and at most one more or one fewer than the spec's. */
  minServers: 2,
} as const;

const nodeOf = (end: LinkEndSpec) => (typeof end === 'string' ? end : end.node);

/**
 * The spec of variant `id`: other subnets (same prefix, same host parts) in the private range they
 * were in, other VRIDs, VRRP priorities, root switch, costs of the links between bridges and VNIs,
 * and one server more or fewer (or as many). The spec must already be structurally valid.
 */
export function variantSpec(original: LabSpec, id: string): LabSpec {
  checkVariantId(id);
  const spec: LabSpec = JSON.parse(JSON.stringify(original));

  // Subnets, and every address in them.
  const placed: Array<{ network: number; prefix: number }> = [];
  const moves: Array<{ from: number; to: number; prefix: number }> = [];
  for (const s of spec.subnets) {
    const [address, p] = s.cidr.split('/');
    const prefix = Number(p);
    const from = networkOf(toInt(address), prefix);
    const range = privateRanges.find((r) => prefix >= r.prefix && networkOf(from, r.prefix) === r.base);
    let to = from;
    if (range) {
      const count = 2 ** (prefix - range.prefix);
      for (let attempt = 0; attempt < 32; attempt++) {
        const candidate = { network: range.base + draw(id, `subnet/${s.name}/${attempt}`, count) * blockSize(prefix), prefix };
        if ([...avoided, ...placed].some((x) => overlaps(x, candidate))) continue;
        to = candidate.network;
        break;
      }
    }
    placed.push({ network: to, prefix });
    moves.push({ from, to, prefix });
    s.cidr = `${toDotted(to)}/${prefix}`;
  }
  const move = (address: string): string => {
    const a = toInt(address);
    const m = moves.find((x) => networkOf(a, x.prefix) === x.from);
    return m ? toDotted(m.to + (a - m.from)) : address;
  };
  for (const h of spec.hypervisors) for (const b of h.bridges) if (b.address) b.address = move(b.address);
  for (const u of spec.users ?? []) u.address = move(u.address);
  for (const c of spec.containers ?? []) for (const n of c.nics) n.address = move(n.address);
  for (const g of spec.vrrp ?? []) g.vip = move(g.vip);

  // VRRP: VRIDs (distinct) and members' priorities (distinct, so one master).
  const vrids = new Set<number>();
  for (const g of spec.vrrp ?? []) {
    let vrid = 1 + draw(id, `vrid/${g.name}`, 255);
    for (let k = 0; vrids.has(vrid) && k < 255; k++) vrid = (vrid % 255) + 1;
    vrids.add(vrid);
    g.vrid = vrid;
    const { low, high } = variantLimits.priority;
    const used = new Set<number>();
    for (const m of g.members) {
      let priority = low + draw(id, `priority/${g.name}/${m.container}`, high - low + 1);
      for (let k = 0; used.has(priority) && k <= high - low; k++) priority = priority === high ? low : priority + 1;
      used.add(priority);
      m.priority = priority;
    }
  }

  // The root: one switch gets a low bridge priority, the others the default.
  const switches = spec.switches ?? [];
  if (switches.length > 0) {
    const root = pick(id, 'root', switches);
    for (const sw of switches) {
      if (sw === root) sw.stp = { ...sw.stp, priority: pick(id, 'root/priority', variantLimits.rootPriorities) };
      else if (sw.stp?.priority !== undefined) {
        const { priority: _, ...rest } = sw.stp;
        sw.stp = rest;
        if (Object.keys(rest).length === 0) delete sw.stp;
      }
    }
  }

  // VNIs (distinct).
  const vnis = new Set<number>();
  for (const seg of spec.vxlan ?? []) {
    const { low, high } = variantLimits.vni;
    let vni = low + draw(id, `vni/${seg.name}`, high - low + 1);
    while (vnis.has(vni)) vni = vni === high ? low : vni + 1;
    vnis.add(vni);
    seg.vni = vni;
  }

  changeServers(spec, id);
  return withCosts(spec, id);
}

/**
 * Costs of the links between bridges (a user's link stays as it is). The handout's drill takes the
 * switch that is not the root down and expects the users on the others to keep the service, so
 * every hypervisor bridge linked to the root must reach it over that link: draws that break this
 * are drawn again (at most 16 times), then every such link gets one cost, which keeps it.
 */
function withCosts(spec: LabSpec, id: string): LabSpec {
  const users = new Set((spec.users ?? []).map((u) => u.name));
  const between = (spec.links ?? []).filter((l) => !l.ends.some((e) => users.has(nodeOf(e))));
  const costed = (cost: (a: string, b: string) => number): LabSpec => {
    const next: LabSpec = JSON.parse(JSON.stringify(spec));
    for (const link of next.links ?? []) {
      const [a, b] = link.ends.map(nodeOf);
      if (users.has(a) || users.has(b)) continue;
      link.cost = cost(a, b);
      // A cost on an end would override the link's: the variant's applies to both ends.
      link.ends = link.ends.map((e) => (typeof e === 'string' || e.cost === undefined ? e : (({ cost: _, ...rest }) => rest)(e))) as typeof link.ends;
    }
    return next;
  };
  if (between.length === 0) return spec;
  for (let attempt = 0; attempt < 16; attempt++) {
    const next = costed((a, b) => pick(id, `cost/${attempt}/${a}/${b}`, variantLimits.costs));
    if (hypervisorsReachRootDirectly(next)) return next;
  }
  const one = pick(id, 'cost/all', variantLimits.costs);
  return costed(() => one);
}

/** True when every hypervisor bridge with a link to its domain's root has its root port on such a link. */
function hypervisorsReachRootDirectly(spec: LabSpec): boolean {
  let model;
  try {
    model = resolveLab(spec, { source: spec.name });
  } catch {
    return true; // resolution reports the problem itself
  }
  const tree = model.spanningTree;
  for (const b of model.bridges.filter((x) => x.stp && model.vms.find((v) => v.name === x.vm)?.kind === 'hypervisor')) {
    const domain = tree.domains.find((d) => d.bridges.includes(b.name));
    if (!domain || domain.root === b.name) continue;
    const toRoot = model.links.filter((l) => l.ends.some((e) => e.bridge === b.name) && l.ends.some((e) => e.bridge === domain.root));
    if (toRoot.length === 0) continue;
    const rootPort = tree.bridges.find((x) => x.bridge === b.name)?.rootPort;
    const port = b.ports.find((p) => p.ifname === rootPort);
    if (!port || !toRoot.some((l) => l.id === port.segment)) return false;
  }
  return true;
}

/** One server more, one fewer, or as many, keeping at least minServers and every backend non-empty. */
function changeServers(spec: LabSpec, id: string): void {
  const backends = spec.haproxy?.backends ?? [];
  const balancers = new Set([...(spec.haproxy?.balancers ?? []), ...(spec.vrrp ?? []).flatMap((g) => g.members.map((m) => m.container))]);
  const containers = spec.containers ?? [];
  const isServer = (name: string) => !balancers.has(name) && backends.some((b) => b.servers.some((s) => s.container === name));
  const servers = containers.filter((c) => isServer(c.name));
  if (servers.length === 0) return;
  const change = pick(id, 'servers', [-1, 0, 1]);
  if (change < 0) {
    // The last server whose backends keep another one.
    const removable = servers.filter((c) => backends.every((b) => !b.servers.some((s) => s.container === c.name) || b.servers.length > 1));
    const gone = removable[removable.length - 1];
    if (servers.length <= variantLimits.minServers || !gone) return;
    spec.containers = containers.filter((c) => c !== gone);
    for (const b of backends) b.servers = b.servers.filter((s) => s.container !== gone.name);
  } else if (change > 0) {
    const template = pick(id, 'servers/template', servers);
    const numbered = /^(.*?)(\d+)$/.exec(template.name);
    const stem = numbered ? numbered[1] : `${template.name}-`;
    const taken = new Set([
      ...containers.map((c) => c.name),
      ...spec.hypervisors.flatMap((h) => [h.name, ...h.bridges.map((b) => b.name)]),
      ...(spec.switches ?? []).map((s) => s.name),
      ...(spec.users ?? []).map((u) => u.name),
    ]);
    let n = servers.length + 1;
    while (taken.has(`${stem}${n}`) && n < 10000) n++;
    const name = `${stem}${n}`;
    if (taken.has(name) || name.length > 30) return;
    const used = new Set([
      ...spec.hypervisors.flatMap((h) => h.bridges.map((b) => b.address)),
      ...(spec.users ?? []).map((u) => u.address),
      ...containers.flatMap((c) => c.nics.map((x) => x.address)),
      ...(spec.vrrp ?? []).map((g) => g.vip),
    ]);
    const nics = [];
    for (const nic of template.nics) {
      const subnet = spec.subnets.find((s) => {
        const [a, p] = s.cidr.split('/');
        return networkOf(toInt(nic.address), Number(p)) === networkOf(toInt(a), Number(p));
      });
      if (!subnet) return;
      const [a, p] = subnet.cidr.split('/');
      const network = toInt(a);
      const size = blockSize(Number(p));
      // The first free host after the template's own address, else the first free one.
      const start = toInt(nic.address) - network;
      let address: string | undefined;
      for (let k = 1; k < size - 1 && !address; k++) {
        const host = ((start - 1 + k) % (size - 2)) + 1;
        const candidate = toDotted(network + host);
        if (!used.has(candidate)) address = candidate;
      }
      if (!address) return;
      used.add(address);
      nics.push({ bridge: nic.bridge, address });
    }
    containers.push({ name, host: template.host, nics, ...(template.packages ? { packages: [...template.packages] } : {}) });
    for (const b of backends) {
      const entry = b.servers.find((s) => s.container === template.name);
      if (entry) b.servers.push({ ...entry, container: name });
    }
  }
}
