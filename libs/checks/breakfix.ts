// Break-fix exercises (`lab break`): a catalogue of misconfigurations a student makes in this lab,
// each injected into the running lab only (never into out/<name>/), through the Driver, so the
// twin and a Vagrant lab break alike. Each entry knows which checks show it, how a student
// repairs it by hand, and whether the live lab is repaired now. The draw is deterministic (the
// same lab and seed give the same faults); the record of what was broken is sealed (see seal()).
import { createHash } from 'crypto';
import { gunzipSync, gzipSync } from 'zlib';
import { formatIpv4, parseCidr } from '../model/ipv4';
import { spanningTree } from '../model/spanning-tree';
import type { BridgeModel, ContainerModel, LabModel, Service } from '../model/types';
import type { Driver } from '../targets/driver';
import { shellQuote } from '../targets/vagrant-ssh';
import { holdsWithin, pause, stpDiff, vipHolders } from '../observe/observe';
import { labRolesOf, type Roles } from './suite';

/** One step of a hand repair: a shell command on a node, or a daemon (re)started. */
export type RepairStep = { node: string; command: string } | { daemon: string; action: 'start' | 'restart' };

/** A fault as injected: what the reveal shows, and what isFixed compares the live lab with. */
export interface InjectedFault {
  id: string;
  /** What exactly was broken, in this lab. */
  what: string;
  /** The checks (ids) that show it. */
  checks: string[];
  repair: RepairStep[];
  /** What isFixed needs: the edited lines, the daemons' pids after the injection, … */
  state: Record<string, unknown>;
}

export interface BreakEntry {
  id: string;
  /** One line, for `lab break --list` and the reveal. */
  summary: string;
  /** Entries that share a tag are never drawn together (they would undo or hide each other). */
  tags: string[];
  /** Null when the entry fits this lab, else why not. */
  notApplicable(model: LabModel): string | null;
  inject(driver: Driver, rng: Rng): InjectedFault;
  /** Reads the live lab: true once a student has repaired the fault. */
  isFixed(driver: Driver, fault: InjectedFault): boolean;
}

export class BreakError extends Error {}

// --- deterministic draw ----------------------------------------------------------------------

/** Numbers drawn from a hash of the lab, the seed and a label (no Math.random): reproducible. */
export interface Rng {
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
}

export function rngOf(lab: string, seed: number, label: string): Rng {
  let counter = 0;
  const int = (n: number) => {
    const digest = createHash('sha256').update(`lab-break/1\n${lab}\n${seed}\n${label}\n${counter++}`).digest();
    return Number(digest.readBigUInt64BE(0) % BigInt(n));
  };
  return { int, pick: (items) => items[int(items.length)] };
}

/** The entries that fit a lab, in catalogue order. */
export function applicableEntries(model: LabModel): BreakEntry[] {
  return catalogue.filter((e) => e.notApplicable(model) === null);
}

/**
 * The entries for `count` faults in lab `model` with `seed`: the applicable entries shuffled by the
 * seed, taken in turn, skipping one that shares a tag with one already taken or with `exclude`
 * (the tags of faults already in the lab).
 */
export function drawEntries(model: LabModel, seed: number, count: number, exclude: string[] = []): BreakEntry[] {
  const rank = (e: BreakEntry) => createHash('sha256').update(`lab-break/1\n${model.name}\n${seed}\norder\n${e.id}`).digest('hex');
  const shuffled = [...applicableEntries(model)].sort((a, b) => rank(a).localeCompare(rank(b)));
  const taken: BreakEntry[] = [];
  const tags = new Set(exclude);
  for (const e of shuffled) {
    if (taken.length === count) break;
    if (e.tags.some((t) => tags.has(t))) continue;
    taken.push(e);
    e.tags.forEach((t) => tags.add(t));
  }
  if (taken.length < count) {
    throw new BreakError(`--count ${count}: lab ${model.name} has only ${taken.length} faults that can be injected together${exclude.length ? ' beside those already in it' : ''} (\`lab break --list\` shows the catalogue)`);
  }
  return taken;
}

export function entryOf(id: string): BreakEntry {
  const e = catalogue.find((x) => x.id === id);
  if (!e) throw new BreakError(`unknown fault "${id}"; catalogue: ${catalogue.map((x) => x.id).join(', ')}`);
  return e;
}

/** Injects the drawn faults one by one; `onInjected` hears each as soon as it is in the lab (so a failure midway loses none). */
export function injectFaults(driver: Driver, seed: number, entries: BreakEntry[], onInjected: (f: InjectedFault) => void): InjectedFault[] {
  return entries.map((e) => {
    const f = e.inject(driver, rngOf(driver.model.name, seed, e.id));
    onInjected(f);
    return f;
  });
}

/** Applies a fault's hand repair through the driver, as a student would type it. */
export function applyRepair(driver: Driver, fault: InjectedFault): void {
  for (const step of fault.repair) {
    if ('node' in step) mustExec(driver, step.node, step.command);
    else {
      if (step.action === 'restart') restart(driver, step.daemon);
      else driver.fault(step.daemon, 'up');
    }
  }
}

/** A repair step as a student reads it. */
export function repairText(step: RepairStep): string {
  if ('node' in step) return `on ${step.node}: ${step.command}`;
  const [container, service] = step.daemon.split(':');
  return `${step.action} ${service} on ${container} (rc-service ${service} ${step.action}; on the twin: lab twin fault ${step.daemon} ${step.action === 'restart' ? 'down, then up' : 'up'})`;
}

// --- the sealed record -----------------------------------------------------------------------

export interface BreakRecord {
  format: 'lab-break/1';
  lab: string;
  target: string;
  seed: number;
  /** When the faults were injected (ISO 8601). */
  at: string;
  faults: InjectedFault[];
}

const sealHeader = '# lab break: sealed record of the faults in this lab; `lab break --reveal` opens it.';

/** Gzip and base64, behind a header: not secret from root, but a glance does not give it away. */
export function seal(record: BreakRecord): string {
  const body = gzipSync(Buffer.from(JSON.stringify(record))).toString('base64');
  return `${sealHeader}\n${body.replace(/.{1,76}/g, '$&\n')}`;
}

export function unseal(text: string, file: string): BreakRecord {
  const [header, ...body] = text.split('\n');
  try {
    if (header !== sealHeader) throw new Error('no header');
    const record = JSON.parse(gunzipSync(Buffer.from(body.join(''), 'base64')).toString('utf8')) as BreakRecord;
    if (record.format !== 'lab-break/1' || !Array.isArray(record.faults)) throw new Error('unknown format');
    return record;
  } catch (error) {
    throw new BreakError(`${file} is not a lab break record (${(error as Error).message}): remove it to start over`);
  }
}

/** Where a lab's record is kept: beside the twin's own state (gone with `twin down`), or root's /var/lib for Vagrant. */
export function recordPath(target: 'twin' | 'vagrant', lab: string, twinStateDir: string): string {
  return target === 'twin' ? `${twinStateDir}/break.sealed` : `/var/lib/lab/break/${lab}.sealed`;
}

// --- helpers on the live lab -----------------------------------------------------------------

function mustExec(driver: Driver, node: string, command: string): string {
  const r = driver.exec(node, command);
  if (r.status !== 0) throw new BreakError(`on ${node}: \`${command}\` failed (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

/** A line's text as a basic regular expression (sed), and as sed replacement text. */
const bre = (s: string) => s.replace(/[\\/.*^$[\]]/g, '\\$&');
const sedText = (s: string) => s.replace(/[\\/&]/g, '\\$&');

/** The sed that turns a line whose text (indentation aside) is `from` into `to`, keeping the indentation. */
export const sedLine = (file: string, from: string, to: string) => `sed -i ${shellQuote(`s/^\\([[:space:]]*\\)${bre(from)}$/\\1${sedText(to)}/`)} ${file}`;

/**
 * The twin binds a container's config files from out/<lab>/containers/: a fault must not write
 * there, so the file is first replaced, inside the container only, by a copy of itself (the
 * bind is undone; the copy lives on the container's own tmpfs). Elsewhere the file is no mount
 * point and nothing happens.
 */
const detach = (file: string) => `if grep -q ${shellQuote(` ${file} `)} /proc/self/mountinfo; then c=$(cat ${file}); umount ${file}; printf '%s\\n' "$c" > ${file}; fi`;

const lines = (text: string) => text.split('\n').map((l) => l.trim());

interface LineEdit {
  container: string;
  service: Service;
  file: string;
  from: string;
  to: string;
}

/** A daemon's first process (its parent, the lowest pid), or '' when it does not run: it changes when the daemon restarts. */
const pidsOf = (driver: Driver, container: string, service: Service) => {
  const pids = driver.exec(container, `pidof ${service}`).stdout.trim().split(/\s+/).filter(Boolean).map(Number);
  return pids.length ? String(Math.min(...pids)) : '';
};

function restart(driver: Driver, daemon: string): void {
  driver.fault(daemon, 'down');
  driver.fault(daemon, 'up');
}

/**
 * How long a change to a daemon takes to show: a backup's master-down interval (keepalived), a
 * server's health checks failing (haproxy, Apache). An injection waits that long, so a check run
 * right after it sees the fault, not the moment before.
 */
function effectMs(model: LabModel, service: Service): number {
  const group = model.vrrp[0];
  const check = model.haproxy?.backends[0]?.check;
  if (service === 'keepalived') return group ? 3 * group.advertInt * 1000 + 1000 : 0;
  return check ? (check.fall + 1) * check.inter + 500 : 0;
}

const waitForEffect = (model: LabModel, services: Service[]) => pause(Math.max(0, ...services.map((s) => effectMs(model, s))));

/** Edits config lines in containers (each must be there), restarts their daemons, and records what isFixed needs. */
function injectEdits(driver: Driver, edits: LineEdit[], what: string, checks: string[], id: string): InjectedFault {
  for (const e of edits) {
    const before = mustExec(driver, e.container, `cat ${e.file}`);
    if (!lines(before).includes(e.from)) throw new BreakError(`${id}: ${e.container}:${e.file} has no line "${e.from}" (edited by hand?)`);
    mustExec(driver, e.container, `${detach(e.file)}; ${sedLine(e.file, e.from, e.to)}`);
    if (!lines(mustExec(driver, e.container, `cat ${e.file}`)).includes(e.to)) throw new BreakError(`${id}: the edit of ${e.container}:${e.file} did not take`);
  }
  const daemons = [...new Set(edits.map((e) => `${e.container}:${e.service}`))];
  for (const d of daemons) restart(driver, d);
  waitForEffect(driver.model, edits.map((e) => e.service));
  const pids = Object.fromEntries(daemons.map((d) => [d, pidsOf(driver, d.split(':')[0], d.split(':')[1] as Service)]));
  return {
    id,
    what,
    checks,
    repair: [...edits.map((e) => ({ node: e.container, command: sedLine(e.file, e.to, e.from) })), ...daemons.map((d) => ({ daemon: d, action: 'restart' as const }))],
    state: { edits, pids },
  };
}

/** Fixed: every edited line is back, and each daemon runs and was restarted since (it read the file again). */
function editsFixed(driver: Driver, fault: InjectedFault): boolean {
  const { edits, pids } = fault.state as { edits: LineEdit[]; pids: Record<string, string> };
  for (const e of edits) {
    const now = lines(driver.exec(e.container, `cat ${e.file}`).stdout);
    if (!now.includes(e.from) || now.includes(e.to)) return false;
  }
  return Object.entries(pids).every(([d, old]) => {
    const [c, s] = d.split(':');
    const pid = pidsOf(driver, c, s as Service);
    return pid !== '' && pid !== old;
  });
}

function injectStop(driver: Driver, daemon: string, what: string, checks: string[], id: string): InjectedFault {
  driver.fault(daemon, 'down');
  waitForEffect(driver.model, [daemon.split(':')[1] as Service]);
  return { id, what, checks, repair: [{ daemon, action: 'start' }], state: { daemon } };
}

const stopFixed = (driver: Driver, fault: InjectedFault) => {
  const [c, s] = (fault.state.daemon as string).split(':');
  return pidsOf(driver, c, s as Service) !== '';
};

/** The balanced service's roles, or why the lab has none. */
function rolesOrWhy(model: LabModel): Roles | string {
  return labRolesOf(model).service ?? 'the lab has no balanced service (VRRP pair and haproxy)';
}
/** Null when the lab has its VRRP pair, else why not. */
const needsVrrp = (model: LabModel) => {
  const r = rolesOrWhy(model);
  return typeof r === 'string' ? r : null;
};
const needsService = (model: LabModel) => {
  const r = rolesOrWhy(model);
  if (typeof r === 'string') return r;
  return r.http ? null : 'the lab has no haproxy yet';
};
const roles = (model: LabModel) => rolesOrWhy(model) as Roles;

/** Every address the lab uses, to find one that is free. */
function usedAddresses(model: LabModel): Set<string> {
  return new Set([
    ...model.vms.flatMap((v) => v.nics.flatMap((n) => (n.address ? [n.address] : []))),
    ...model.bridges.flatMap((b) => (b.address ? [b.address] : [])),
    ...model.containers.flatMap((c) => c.nics.map((n) => n.address)),
    ...model.vrrp.map((g) => g.vip),
    ...model.vxlan.flatMap((x) => x.members.map((m) => m.local)),
  ]);
}

/** A host address of a subnet that nothing in the lab uses, drawn from the top of the range. */
function freeAddress(model: LabModel, subnet: string, rng: Rng): string {
  const s = model.subnets.find((x) => x.name === subnet)!;
  const { network, prefix } = parseCidr(s.cidr);
  const used = usedAddresses(model);
  const size = 2 ** (32 - prefix);
  const free: string[] = [];
  for (let i = size - 2; i >= 1 && free.length < 8; i--) {
    const a = formatIpv4(network + i);
    if (!used.has(a)) free.push(a);
  }
  if (free.length === 0) throw new BreakError(`subnet ${subnet} (${s.cidr}) has no free address`);
  return rng.pick(free);
}

const stpBridges = (model: LabModel) => model.bridges.filter((b) => b.stp);
const isRoot = (model: LabModel, b: BridgeModel) => model.spanningTree.domains.some((d) => d.root === b.name);
const vrrpConf = '/etc/keepalived/keepalived.conf';
const haproxyCfg = '/etc/haproxy/haproxy.cfg';
const innerNic = (r: Roles, c: ContainerModel) => c.nics.find((n) => n.subnet !== r.group.subnet)!;

/** The haproxy `server` line of one server in a balancer's live config. */
function serverLine(driver: Driver, balancer: string, server: string): string {
  const line = lines(mustExec(driver, balancer, `cat ${haproxyCfg}`)).find((l) => l.startsWith(`server ${server} `));
  if (!line) throw new BreakError(`${balancer}:${haproxyCfg} has no server ${server}`);
  return line;
}

/** keepalived.conf's virtual_ipaddress line for the VIP (trimmed): `<vip>/<prefix>`, with ` dev <nic>` when the VIP has no virtual MAC. */
export function vipLine(conf: string, vip: string, prefix: number): string | undefined {
  return lines(conf).find((l) => l === `${vip}/${prefix}` || l.startsWith(`${vip}/${prefix} `));
}

/** Root ports whose cost, raised, moves the bridge's root port elsewhere (the predicted tree says so). */
function costCandidates(model: LabModel): Array<{ bridge: BridgeModel; ifname: string; cost: number }> {
  return model.spanningTree.bridges.flatMap((p) => {
    const bridge = model.bridges.find((b) => b.name === p.bridge)!;
    if (!p.rootPort || !bridge.stp) return [];
    const port = bridge.ports.find((x) => x.ifname === p.rootPort)!;
    const cost = Math.min(65535, port.cost * 10 + 100);
    const changed = model.bridges.map((b) => (b !== bridge ? b : { ...b, ports: b.ports.map((x) => (x === port ? { ...x, cost } : x)) }));
    const after = spanningTree(changed).bridges.find((x) => x.bridge === bridge.name)!;
    return after.rootPort !== p.rootPort ? [{ bridge, ifname: port.ifname, cost }] : [];
  });
}

const readSys = (driver: Driver, vm: string, path: string) => driver.exec(vm, `cat ${path}`).stdout.trim();

// --- the catalogue ---------------------------------------------------------------------------

export const catalogue: BreakEntry[] = [
  {
    id: 'vrrp-priorities-swapped',
    summary: "the two balancers' VRRP priorities swapped: the backup is elected master",
    tags: ['vrrp'],
    notApplicable: (m) => {
      const r = rolesOrWhy(m);
      return typeof r === 'string' ? r : r.master.priority === r.backup.priority ? 'the balancers have the same priority' : null;
    },
    inject: (driver) => {
      const r = roles(driver.model);
      const [a, b] = [r.master, r.backup];
      return injectEdits(driver, [
        { container: a.container, service: 'keepalived', file: vrrpConf, from: `priority ${a.priority}`, to: `priority ${b.priority}` },
        { container: b.container, service: 'keepalived', file: vrrpConf, from: `priority ${b.priority}`, to: `priority ${a.priority}` },
      ], `keepalived: ${a.container} priority ${b.priority}, ${b.container} priority ${a.priority} (swapped)`, ['cp2.roles'], 'vrrp-priorities-swapped');
    },
    isFixed: editsFixed,
  },
  {
    id: 'vrrp-vrid-mismatch',
    summary: 'one balancer in another VRRP group (a different virtual_router_id): both claim the VIP',
    tags: ['vrrp'],
    notApplicable: needsVrrp,
    inject: (driver, rng) => {
      const r = roles(driver.model);
      const member = rng.pick([r.master, r.backup]);
      const vrid = r.group.vrid < 255 ? r.group.vrid + 1 : r.group.vrid - 1;
      return injectEdits(driver, [{ container: member.container, service: 'keepalived', file: vrrpConf, from: `virtual_router_id ${r.group.vrid}`, to: `virtual_router_id ${vrid}` }],
        `keepalived on ${member.container}: virtual_router_id ${vrid}, the group's is ${r.group.vrid}`, ['cp2.roles'], 'vrrp-vrid-mismatch');
    },
    isFixed: editsFixed,
  },
  {
    id: 'vrrp-advert-int',
    summary: "the master's VRRP adverts at another interval (advert_int): a slower failover (VRRPv3) or two masters (VRRPv2)",
    tags: ['vrrp'],
    notApplicable: needsVrrp,
    inject: (driver) => {
      const r = roles(driver.model);
      const now = r.group.advertInt;
      const wrong = now < 1 ? 1 : now + 2;
      // VRRPv3 backups adopt the master's interval (RFC 5798): the failover takes 3 × the wrong
      // one. VRRPv2 backups drop adverts of another interval: both become master.
      const checks = r.group.version === 3 ? ['cp2.failover'] : ['cp2.roles'];
      const fault = injectEdits(driver, [{ container: r.master.container, service: 'keepalived', file: vrrpConf, from: `advert_int ${now}`, to: `advert_int ${wrong}` }],
        `keepalived on ${r.master.container}: advert_int ${wrong}, the group's is ${now}`, checks, 'vrrp-advert-int');
      // The restarted master waits out its own (now longer) master-down interval before it takes
      // the VIP back; only its adverts then teach the backup the wrong interval.
      holdsWithin(driver, (4 * wrong + 10) * 1000, () => vipHolders(driver, r.group).join() === r.master.container, 200);
      pause(2 * wrong * 1000);
      return fault;
    },
    isFixed: editsFixed,
  },
  {
    id: 'vrrp-vip-netmask',
    summary: 'the VIP with a wrong netmask on the master',
    tags: ['vrrp'],
    notApplicable: needsVrrp,
    inject: (driver) => {
      const r = roles(driver.model);
      const { vip, prefix } = r.group;
      const wrong = prefix >= 16 ? prefix - 8 : prefix + 8;
      const conf = mustExec(driver, r.master.container, `cat ${vrrpConf}`);
      const line = vipLine(conf, vip, prefix);
      if (!line) throw new BreakError(`vrrp-vip-netmask: ${r.master.container}:${vrrpConf} has no virtual_ipaddress line for ${vip}/${prefix}`);
      return injectEdits(driver, [{ container: r.master.container, service: 'keepalived', file: vrrpConf, from: line, to: line.replace(`${vip}/${prefix}`, `${vip}/${wrong}`) }],
        `keepalived on ${r.master.container}: virtual_ipaddress ${vip}/${wrong}, the subnet's prefix is /${prefix}`, ['cp2.roles'], 'vrrp-vip-netmask');
    },
    isFixed: editsFixed,
  },
  {
    id: 'keepalived-stopped',
    summary: 'keepalived stopped on the master',
    tags: ['vrrp'],
    notApplicable: needsVrrp,
    inject: (driver) => {
      const r = roles(driver.model);
      return injectStop(driver, `${r.master.container}:keepalived`, `keepalived stopped on ${r.master.container}`, ['cp2.roles'], 'keepalived-stopped');
    },
    isFixed: stopFixed,
  },
  {
    id: 'haproxy-stopped',
    summary: 'haproxy stopped on the master',
    tags: ['vrrp', 'haproxy'],
    notApplicable: needsService,
    inject: (driver) => {
      const r = roles(driver.model);
      // With a track script the VIP moves to the backup; without one the service is gone.
      return injectStop(driver, `${r.master.container}:haproxy`, `haproxy stopped on ${r.master.container}`, ['cp2.roles', 'cp4.rotation'], 'haproxy-stopped');
    },
    isFixed: stopFixed,
  },
  {
    id: 'haproxy-server-disabled',
    summary: "one server disabled in the master's haproxy",
    tags: ['haproxy'],
    notApplicable: needsService,
    inject: (driver, rng) => {
      const r = roles(driver.model);
      const server = rng.pick(r.servers);
      const line = serverLine(driver, r.master.container, server);
      return injectEdits(driver, [{ container: r.master.container, service: 'haproxy', file: haproxyCfg, from: line, to: `${line} disabled` }],
        `haproxy on ${r.master.container}: server ${server} disabled`, ['cp4.rotation'], 'haproxy-server-disabled');
    },
    isFixed: editsFixed,
  },
  {
    id: 'haproxy-server-port',
    summary: "a wrong port for one server in the master's haproxy: its health checks fail",
    tags: ['haproxy'],
    notApplicable: needsService,
    inject: (driver, rng) => {
      const r = roles(driver.model);
      const server = rng.pick(r.servers);
      const line = serverLine(driver, r.master.container, server);
      const port = /:(\d+)\b/.exec(line)?.[1];
      if (!port) throw new BreakError(`haproxy-server-port: no port in "${line}"`);
      const wrong = port === '8080' ? '8081' : '8080';
      return injectEdits(driver, [{ container: r.master.container, service: 'haproxy', file: haproxyCfg, from: line, to: line.replace(`:${port}`, `:${wrong}`) }],
        `haproxy on ${r.master.container}: server ${server} on port ${wrong}, Apache listens on ${port}`, ['cp4.rotation'], 'haproxy-server-port');
    },
    isFixed: editsFixed,
  },
  {
    id: 'apache-stopped',
    summary: 'Apache stopped on one server',
    tags: ['servers'],
    notApplicable: needsService,
    inject: (driver, rng) => {
      const server = rng.pick(roles(driver.model).servers);
      return injectStop(driver, `${server}:apache2`, `Apache stopped on ${server}`, ['cp4.rotation'], 'apache-stopped');
    },
    isFixed: stopFixed,
  },
  {
    id: 'stp-off',
    summary: 'STP off on one bridge of the external network',
    tags: ['stp'],
    // A bridge without a blocked port: off, it floods like a hub and passes the BPDUs on, so
    // the others still break the loop (one that holds the blocked port would open it: a storm).
    notApplicable: (m) => (offCandidates(m).length ? null : 'no bridge running STP is neither the root nor holds a blocked port'),
    inject: (driver, rng) => {
      const b = rng.pick(offCandidates(driver.model));
      mustExec(driver, b.vm, `ip link set dev ${b.name} type bridge stp_state 0`);
      return { id: 'stp-off', what: `STP off on ${b.name} (on ${b.vm})`, checks: ['cp1.stp-on'], repair: [{ node: b.vm, command: `ip link set dev ${b.name} type bridge stp_state 1` }], state: { vm: b.vm, bridge: b.name } };
    },
    isFixed: (driver, f) => readSys(driver, f.state.vm as string, `/sys/class/net/${f.state.bridge}/bridge/stp_state`) === '1',
  },
  {
    id: 'stp-root-moved',
    summary: 'a bridge priority that makes another bridge the STP root',
    tags: ['stp'],
    notApplicable: (m) => (rootCandidates(m).bridges.length ? null : 'no bridge can take the root (the root has priority 0, or no other bridge runs STP)'),
    inject: (driver, rng) => {
      const { bridges, priority } = rootCandidates(driver.model);
      const b = rng.pick(bridges);
      mustExec(driver, b.vm, `ip link set dev ${b.name} type bridge priority ${priority}`);
      return {
        id: 'stp-root-moved',
        what: `${b.name} (on ${b.vm}) priority ${priority}, configured ${b.priority}: it becomes the root`,
        checks: ['cp1.root'],
        repair: [{ node: b.vm, command: `ip link set dev ${b.name} type bridge priority ${b.priority}` }],
        state: { vm: b.vm, bridge: b.name, priority: b.priority },
      };
    },
    isFixed: (driver, f) => readSys(driver, f.state.vm as string, `/sys/class/net/${f.state.bridge}/bridge/priority`) === String(f.state.priority),
  },
  {
    id: 'stp-port-cost',
    summary: 'a port cost that moves a root port',
    tags: ['stp'],
    notApplicable: (m) => (costCandidates(m).length ? null : 'no root port whose cost would move it'),
    inject: (driver, rng) => {
      const { bridge, ifname, cost } = rng.pick(costCandidates(driver.model));
      const was = bridge.ports.find((p) => p.ifname === ifname)!.cost;
      mustExec(driver, bridge.vm, `bridge link set dev ${ifname} cost ${cost}`);
      // The new root port forwards only after listening and learning: wait until the tree shows it.
      const { stp } = driver.model;
      holdsWithin(driver, (stp.maxAge + 2 * stp.forwardDelay) * 1000 + 5000, () => stpDiff(driver, driver.model.spanningTree.ports).length > 0, 250);
      return {
        id: 'stp-port-cost',
        what: `${bridge.name}/${ifname} (on ${bridge.vm}) cost ${cost}, configured ${was}: the root port moves`,
        checks: ['cp1.ports'],
        repair: [{ node: bridge.vm, command: `bridge link set dev ${ifname} cost ${was}` }],
        state: { vm: bridge.vm, bridge: bridge.name, ifname, cost: was },
      };
    },
    isFixed: (driver, f) => readSys(driver, f.state.vm as string, `/sys/class/net/${f.state.bridge}/brif/${f.state.ifname}/path_cost`) === String(f.state.cost),
  },
  {
    id: 'user-wrong-route',
    summary: 'the first user with a wrong route to the VIP',
    tags: ['users'],
    notApplicable: needsService,
    inject: (driver, rng) => {
      const r = roles(driver.model);
      // The first user: the one cp4.rotation asks through, so a check that only reads the lab
      // shows it at once (another user's loss shows only in the drills, a minute later).
      const user = r.users[0];
      const gateway = freeAddress(driver.model, r.group.subnet, rng);
      mustExec(driver, user, `ip route add ${r.group.vip}/32 via ${gateway}`);
      const checks = ['cp4.rotation'];
      return { id: 'user-wrong-route', what: `${user}: route to ${r.group.vip} via ${gateway}, an address nobody has`, checks, repair: [{ node: user, command: `ip route del ${r.group.vip}/32 via ${gateway}` }], state: { user, vip: r.group.vip } };
    },
    isFixed: (driver, f) => !driver.exec(f.state.user as string, `ip route get ${f.state.vip}`).stdout.includes(' via '),
  },
  {
    id: 'balancer-inner-address',
    summary: "a wrong inner address on the master balancer",
    tags: ['inner'],
    notApplicable: needsService,
    inject: (driver, rng) => {
      const r = roles(driver.model);
      const nic = innerNic(r, r.masterC);
      const wrong = freeAddress(driver.model, nic.subnet, rng);
      const c = r.master.container;
      mustExec(driver, c, `ip addr del ${nic.address}/${nic.prefix} dev ${nic.ifname} && ip addr add ${wrong}/${nic.prefix} dev ${nic.ifname}`);
      return {
        id: 'balancer-inner-address',
        what: `${c} ${nic.ifname}: ${wrong}/${nic.prefix} instead of ${nic.address}/${nic.prefix}`,
        checks: ['cp4.internal'],
        repair: [{ node: c, command: `ip addr del ${wrong}/${nic.prefix} dev ${nic.ifname}; ip addr add ${nic.address}/${nic.prefix} dev ${nic.ifname}` }],
        state: { container: c, ifname: nic.ifname, address: nic.address, prefix: nic.prefix, wrong },
      };
    },
    isFixed: (driver, f) => {
      const out = driver.exec(f.state.container as string, `ip -4 -o addr show dev ${f.state.ifname}`).stdout;
      return out.includes(` ${f.state.address}/${f.state.prefix} `) && !out.includes(` ${f.state.wrong}/`);
    },
  },
  {
    id: 'balancer-forwarding',
    summary: 'a balancer that forwards packets (ip_forward on)',
    tags: ['forwarding'],
    notApplicable: needsVrrp,
    inject: (driver, rng) => {
      const c = rng.pick(roles(driver.model).group.members).container;
      mustExec(driver, c, 'echo 1 > /proc/sys/net/ipv4/ip_forward');
      return { id: 'balancer-forwarding', what: `ip_forward 1 on ${c}`, checks: ['sec.no-forwarding'], repair: [{ node: c, command: 'sysctl -w net.ipv4.ip_forward=0' }], state: { container: c } };
    },
    isFixed: (driver, f) => driver.exec(f.state.container as string, 'cat /proc/sys/net/ipv4/ip_forward').stdout.trim() === '0',
  },
  {
    id: 'vxlan-wrong-vni',
    summary: "one host's VXLAN device with another VNI: the internal subnet is cut in two",
    tags: ['vxlan'],
    notApplicable: (m) => {
      const why = needsService(m);
      if (why) return why;
      const x = m.vxlan[0];
      return !x ? 'the lab has no VXLAN' : x.members.length !== 2 || x.headEndReplication ? 'the VXLAN has more than two members' : null;
    },
    inject: (driver, rng) => {
      const x = driver.model.vxlan[0];
      const member = rng.pick(x.members);
      const wrong = x.vni + 1;
      mustExec(driver, member.vm, vxlanCommands(driver.model, member.vm, wrong));
      return {
        id: 'vxlan-wrong-vni',
        what: `${member.ifname} on ${member.vm}: VNI ${wrong}, the other end's is ${x.vni}`,
        checks: ['cp4.internal'],
        repair: [{ node: member.vm, command: vxlanCommands(driver.model, member.vm, x.vni) }],
        state: { vm: member.vm, ifname: member.ifname, bridge: member.bridge, vni: x.vni },
      };
    },
    isFixed: (driver, f) => {
      const out = driver.exec(f.state.vm as string, `ip -d -o link show dev ${f.state.ifname}`).stdout;
      return out.includes(`vxlan id ${f.state.vni} `) && out.includes(`master ${f.state.bridge} `) && /[<,]UP[,>]/.test(out);
    },
  },
];

/** STP bridges that are not a root and hold no blocked port. */
function offCandidates(model: LabModel): BridgeModel[] {
  const blocked = new Set(model.spanningTree.blocked.map((p) => p.bridge));
  return stpBridges(model).filter((b) => !isRoot(model, b) && !blocked.has(b.name));
}

/** STP bridges that would take the root with `priority` (one step of 4096 below the root's). */
function rootCandidates(model: LabModel): { bridges: BridgeModel[]; priority: number } {
  const domain = model.spanningTree.domains[0];
  const root = domain && model.bridges.find((b) => b.name === domain.root);
  if (!root || root.priority === 0) return { bridges: [], priority: 0 };
  const priority = Math.max(0, root.priority - 4096);
  return { bridges: stpBridges(model).filter((b) => b !== root && domain.bridges.includes(b.name)), priority };
}

/** The VXLAN device of a host, made again as network.sh makes it, with VNI `vni`. */
function vxlanCommands(model: LabModel, vm: string, vni: number): string {
  const x = model.vxlan[0];
  const m = x.members.find((y) => y.vm === vm)!;
  const port = model.bridges.find((b) => b.name === m.bridge)!.ports.find((p) => p.ifname === m.ifname)!;
  return [
    `ip link del ${m.ifname}`,
    `ip link add name ${m.ifname} address ${m.mac} type vxlan id ${vni} local ${m.local} remote ${m.remotes[0]} dstport ${x.port} dev ${m.dev}`,
    `ip link set dev ${m.ifname} mtu ${x.mtu} master ${m.bridge}`,
    `bridge link set dev ${m.ifname} cost ${port.cost} priority ${port.priority}`,
    `ip link set dev ${m.ifname} up`,
  ].join(' && ');
}

/** What `lab break --list` prints: each entry, and whether it fits the lab. */
export function catalogueRows(model?: LabModel): string[][] {
  return catalogue.map((e) => [e.id, e.summary, ...(model ? [e.notApplicable(model) ?? 'applies'] : [])]);
}

