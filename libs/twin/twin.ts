// The twin: the rendered lab on one Linux machine. Each VM is a network namespace; each link a
// wire: the two NICs (the model's MACs) are veths whose peers are joined by tc in one namespace,
// so a NIC taken down leaves the other end's carrier up, as on a VirtualBox internal network.
// Each VM runs its own generated network.sh; each container gets network, PID, mount and UTS
// namespaces, with the generated files bind-mounted at their real paths, its interfaces brought
// up from its generated /etc/network/interfaces by ifupdown-ng (Alpine's tool), and the real
// keepalived, haproxy and Apache+PHP.
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'fs';
import { join, resolve } from 'path';
import type { ContainerModel, LabModel, Service, StpPortPrediction, VmModel } from '../model/types';
import { containerFiles } from '../render';
import { masterServers, serviceUrl } from '../model/service';
import { readStp, stpMismatchesOf } from '../targets/kernel-stp';
import { faultTarget, faultTargetNames, type FaultAction } from '../model/fault-target';
import { missingTools, must, mustBatch, pauseSync, run, runBatch, running, sleep, TwinError, type BatchCommand } from './system';
import { healWire, impairWire, wireRedirect, type ImpairMechanism, type Wire } from './impair';
import { describeImpairment, type Impairment } from '../model/impairment';
import { createContainerCgroup, inCgroup, removeLabCgroups, setCpuQuota } from './cgroup';

export { TwinError };
export type { FaultAction };

export interface TwinLab {
  model: LabModel;
  /** The rendered lab folder (out/<name>). */
  dir: string;
}

export type Say = (line: string) => void;

export function loadTwinLab(dir: string): TwinLab {
  const file = join(dir, 'lab.json');
  if (!existsSync(file)) throw new TwinError(`${file} not found: render the lab first (npx nx g lab:scenario)`);
  return { model: JSON.parse(readFileSync(file, 'utf8')) as LabModel, dir: resolve(dir) };
}

// Lab names never contain '_', so the prefix of one lab never matches another's.
export const nsPrefix = (lab: string) => `lab_${lab}_`;
export const nsOf = (lab: string, node: string) => `${nsPrefix(lab)}${node}`;
export const stateDir = (lab: string) => join('/run/lab-twin', lab);
/** The namespace that holds the far ends of every link's veths. Node names have no '_': no node is called this. */
export const wireNsOf = (lab: string) => nsOf(lab, 'link_wires');
/** The two veths in the wire namespace that stand for the cable of link number `index`, one per end. */
const wireEnds = (index: number): [string, string] => [`link${index}-end0`, `link${index}-end1`];

export function labNamespaces(lab: string): string[] {
  return run(['ip', 'netns', 'list'])
    .stdout.split('\n')
    .map((line) => line.split(' ')[0])
    .filter((name) => name.startsWith(nsPrefix(lab)));
}

/** The processes in each of these network namespaces, from one pass over /proc (as `ip netns pids` finds them, without a process per namespace). */
function pidsByNetns(namespaces: string[]): Map<string, number[]> {
  const byInode = new Map<number, string>();
  const found = new Map<string, number[]>(namespaces.map((ns) => [ns, []]));
  for (const ns of namespaces) {
    try {
      byInode.set(statSync(`/run/netns/${ns}`).ino, ns);
    } catch {
      // Not there (any more).
    }
  }
  if (byInode.size === 0) return found;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ns = byInode.get(Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${entry}/ns/net`))?.[1]));
      if (ns) found.get(ns)!.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

const namespacePids = (ns: string) => pidsByNetns([ns]).get(ns)!;

/** A process's name ('' once it is gone). */
function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** True while `pid` is PID 1 of its own PID namespace and lives in network namespace `ns`. */
function isHolder(pid: number, ns: string): boolean {
  try {
    const ids = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1].trim().split(/\s+/) ?? [];
    return ids.length > 1 && ids[ids.length - 1] === '1' && readlinkSync(`/proc/${pid}/ns/net`) === `net:[${statSync(`/run/netns/${ns}`).ino}]`;
  } catch {
    return false;
  }
}

// A container's init, once found: every command run in a container needs it.
const holders = new Map<string, number>();

/** The init (PID 1 of its own PID namespace) that holds a container's namespaces. */
export function holderPid(lab: string, container: string): number {
  const ns = nsOf(lab, container);
  const known = holders.get(ns);
  if (known !== undefined && isHolder(known, ns)) return known;
  const pid = namespacePids(ns).find((p) => isHolder(p, ns));
  if (pid === undefined) throw new TwinError(`container ${container} of lab ${lab} is not running`);
  holders.set(ns, pid);
  return pid;
}

const inVm = (lab: string, vm: string, argv: string[]) => ['ip', 'netns', 'exec', nsOf(lab, vm), ...argv];
const inContainer = (lab: string, container: string, argv: string[]) => [
  'nsenter', '-t', String(holderPid(lab, container)), '--pid', '--mount', '--uts', '--net', '--', ...argv,
];

/** The argv that runs `argv` on a node of the lab (a VM or a container). */
export function onNode(lab: TwinLab, node: string, argv: string[]): string[] {
  const name = lab.model.name;
  if (lab.model.vms.some((v) => v.name === node)) return inVm(name, node, argv);
  if (lab.model.containers.some((c) => c.name === node)) return inContainer(name, node, argv);
  const known = [...lab.model.vms.map((v) => v.name), ...lab.model.containers.map((c) => c.name)];
  throw new TwinError(`unknown node "${node}"; nodes: ${known.join(', ')}`);
}

export function shOn(lab: TwinLab, node: string, command: string) {
  return run(onNode(lab, node, ['sh', '-c', command]), { timeout: 30_000 });
}

// --- daemons -------------------------------------------------------------------------------

// In the foreground, so their output goes to the twin's log; OpenRC does this in the real lab.
const daemonCommand: Record<Service, string> = {
  apache2: 'apache2 -f /etc/apache2/apache2.conf -DFOREGROUND',
  haproxy: 'haproxy -db -f /etc/haproxy/haproxy.cfg',
  keepalived: 'keepalived --vrrp --dont-fork --log-console --log-detail -f /etc/keepalived/keepalived.conf -p /run/keepalived.pid -r /run/keepalived_vrrp.pid',
};

/**
 * Starts a daemon inside the container, its output appended to a log file. The shell that
 * starts it exits at once, so the daemon's parent is the container's init, which reaps it.
 */
export function startDaemon(lab: TwinLab, container: string, service: Service): void {
  const c = lab.model.containers.find((x) => x.name === container)!;
  // An editor that saves by writing a new file leaves the old one behind the bind mount, and a
  // restarted daemon must read what is in out/<lab>/containers/ now: a file whose inode changed
  // and whose bound inode was deleted (no link left) is bound again (unmounted first: the kernel
  // mounts nothing on the deleted old file). Only such a file: another daemon of this container
  // may be reading its own file at this moment, and between umount and mount it reads the empty
  // placeholder (a keepalived started just before haproxy once read an empty keepalived.conf that
  // way and ran no VRRP at all). A file replaced inside the container only is kept: `lab break`
  // changes the running lab, never out/ (its copy has a link, on the container's tmpfs).
  const rebind = 'set -e; while [ $# -gt 1 ]; do if [ -e "$1" ] && [ "$(stat -Lc %d:%i "$1")" != "$(stat -Lc %d:%i "$2")" ] && [ "$(stat -Lc %h "$2")" = 0 ]; then umount -l "$2"; mount --bind "$1" "$2"; fi; shift 2; done';
  must(inContainer(lab.model.name, container, ['sh', '-c', rebind, 'rebind', ...boundFiles(lab, c).flatMap(({ src, dst }) => [src, dst])]));
  startDaemons(lab, [container], service);
}

/** Starts a daemon in each of these containers (files just bound: nothing to bind again), from one shell. */
function startDaemons(lab: TwinLab, containers: string[], service: Service): void {
  mustBatch(
    containers.map((container) => ({
      // In the container's CPU cgroup: its quota caps the daemon, its CPU time counts with the container's.
      argv: inCgroup(lab.model.name, container, inContainer(lab.model.name, container, ['sh', '-c', `setsid ${daemonCommand[service]} </dev/null &`])),
      detachTo: join(stateDir(lab.model.name), 'logs', `${container}-${service}.log`),
    })),
  );
}

/** The generated files of a container, bind-mounted at their real paths inside it. */
function boundFiles(lab: TwinLab, c: ContainerModel): Array<{ src: string; dst: string }> {
  return containerFiles(c).map(({ file, path }) => ({ src: join(lab.dir, 'containers', c.name, file), dst: path }));
}

/** Stops a daemon and waits (5 s at most, then SIGKILL) until it is gone, so a restart cannot race it. */
export function stopDaemon(lab: TwinLab, container: string, service: Service, signal: 'TERM' | 'KILL' = 'TERM'): void {
  shOn(lab, container, `pkill -${signal} -x ${service}; i=0; while pidof ${service} >/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; pkill -KILL -x ${service}; true`);
}

export function daemonRunning(lab: TwinLab, container: string, service: Service): boolean {
  return daemonsRunning(lab, [container], service).length === 1;
}

/** Those of these containers that run `service` now (a process of that name in the container), from one look at /proc. */
function daemonsRunning(lab: TwinLab, containers: string[], service: Service): string[] {
  const pids = pidsByNetns(containers.map((c) => nsOf(lab.model.name, c)));
  return containers.filter((c) => pids.get(nsOf(lab.model.name, c))!.some((pid) => commOf(pid) === service && running(pid)));
}

/** The last lines a daemon wrote to its log, without keepalived's twice-a-second gratuitous ARP lines. */
export function daemonLogTail(lab: TwinLab, container: string, service: Service, lines = 25): string[] {
  const file = join(stateDir(lab.model.name), 'logs', `${container}-${service}.log`);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').trimEnd().split('\n').filter((l) => !/gratuitous ARP/i.test(l)).slice(-lines);
}

// --- STP -----------------------------------------------------------------------------------

/** Port states as the kernel reports them, keyed `bridge/port`. */
export function readStpStates(lab: TwinLab): Map<string, string> {
  return readStp({ model: lab.model, exec: (node, command) => shOn(lab, node, command) });
}

export function stpMismatches(lab: TwinLab, predicted: StpPortPrediction[] = lab.model.spanningTree.ports): Array<StpPortPrediction & { actual: string }> {
  return stpMismatchesOf(readStpStates(lab), predicted);
}

// --- up ------------------------------------------------------------------------------------

function preflight(): void {
  if (process.getuid && process.getuid() !== 0) throw new TwinError('the twin needs root (network namespaces, bridges, mounts)');
  const packageOf: Record<string, string> = { ifup: 'ifupdown-ng', ifquery: 'ifupdown-ng', tc: 'iproute2', apache2: 'apache2 libapache2-mod-php' };
  const [tool] = missingTools(['ip', 'bridge', 'tc', 'unshare', 'nsenter', 'tini', 'keepalived', 'haproxy', 'apache2', 'curl', 'pkill', 'pidof', 'ifup', 'ifquery']);
  if (tool) throw new TwinError(`${tool} is missing: apt-get install ${packageOf[tool] ?? tool}`);
}

function phpModule(): string {
  const dir = '/usr/lib/apache2/modules';
  const found = existsSync(dir) ? readdirSync(dir).filter((f) => /^libphp.*\.so$/.test(f)).sort() : [];
  if (found.length === 0) throw new TwinError('no mod_php in /usr/lib/apache2/modules: install libapache2-mod-php');
  return join(dir, found[found.length - 1]);
}

/**
 * Starts every container: its network namespace, its NICs as LXD's profile makes them (generated
 * lxd/<container>.yaml: MAC and MTU on both ends, the host end on its bridge), and its init
 * (container-init.sh: lo up, forwarding off, the generated files bind-mounted). Addresses are the
 * container's own business: see ifupContainers. A few shells and `ip -batch` runs in all, however
 * many containers.
 */
function startContainers(lab: TwinLab, containers: ContainerModel[], cpu: Record<string, number> = {}): void {
  const name = lab.model.name;
  const init = join(__dirname, 'container-init.sh');
  const starts: BatchCommand[] = [];
  for (const c of containers) {
    createContainerCgroup(name, c.name);
    if (cpu[c.name] !== undefined) setCpuQuota(name, c.name, cpu[c.name]);
    const steps: string[] = [];
    const dirs = new Set<string>();
    for (const { src, dst } of boundFiles(lab, c)) {
      dirs.add(dst.startsWith('/var/www/') ? '/var/www' : dst.split('/').slice(0, 3).join('/'));
      steps.push('bind', src, dst);
    }
    if (c.services.includes('apache2')) steps.push('bind', join(stateDir(name), 'apache2.conf'), '/etc/apache2/apache2.conf');
    starts.push({
      argv: inCgroup(name, c.name, inVm(name, c.name, ['unshare', '--pid', '--fork', '--mount', '--uts', '--mount-proc', '--propagation', 'private', '--', 'sh', init, c.name, ...[...dirs].sort().flatMap((d) => ['tmpfs', d]), ...steps])),
      detachTo: join(stateDir(name), 'logs', `${c.name}-init.log`),
    });
  }
  mustBatch(containers.map((c) => ({ argv: ['ip', 'netns', 'add', nsOf(name, c.name)] })));
  // The NICs before the inits: a port joining an STP bridge listens and learns 2 × forward
  // delay before it forwards (a balancer's outer NIC is on the users' path), so the sooner the better.
  const nics = containers.flatMap((c) => c.nics.map((nic) => ({ c, nic })));
  if (nics.length > 0) {
    const veths = nics.map(({ c, nic }) => `link add name ${nic.hostIfname} mtu ${nic.mtu} netns ${nsOf(name, c.host)} type veth peer name ${nic.ifname} address ${nic.mac} mtu ${nic.mtu} netns ${nsOf(name, c.name)}`);
    must(['ip', '-batch', '-'], { input: `${veths.join('\n')}\n` });
    for (const host of [...new Set(nics.map(({ c }) => c.host))]) {
      const ports = nics.filter(({ c }) => c.host === host).map(({ nic }) => `link set dev ${nic.hostIfname} master ${nic.bridge} up`);
      must(['ip', '-n', nsOf(name, host), '-batch', '-'], { input: `${ports.join('\n')}\n` });
    }
    // A veth has carrier once both ends are up: the container's end of an STP port comes up now,
    // not at its ifup a second or two later (ifup finds it up and gives it its address), so the
    // port's timers run while the containers start. Twin only: on LXD they start at the ifup.
    const stpBridges = new Set(lab.model.bridges.filter((b) => b.stp).map((b) => b.name));
    mustBatch(nics.filter(({ nic }) => stpBridges.has(nic.bridge)).map(({ c, nic }) => ({ argv: ['ip', '-n', nsOf(name, c.name), 'link', 'set', 'dev', nic.ifname, 'up'] })));
  }
  mustBatch(starts);
}

/**
 * Brings each container's network up from its generated /etc/network/interfaces (bound at that
 * path) with ifupdown-ng, as Alpine's OpenRC `networking` service does: `ifup` for each auto
 * interface; every container at once.
 * ifupdown-ng carries on past what it cannot parse, and drops an address it cannot read without a
 * word; the lab would be broken all the same, only later and less clearly, so the twin stops here
 * at anything ifupdown-ng reports and at a NIC left without an IPv4 address.
 */
function ifupContainers(lab: TwinLab, containers: ContainerModel[]): void {
  const results = runBatch(
    containers.map((c) => ({ argv: inContainer(lab.model.name, c.name, ['sh', '-c', 'for i in $(ifquery --auto --list); do ifup "$i" || echo "ifup $i failed" >&2; done; ip -4 -o addr show']) })),
    { parallel: true },
  );
  for (const [i, c] of containers.entries()) {
    const file = join(lab.dir, 'containers', c.name, 'interfaces');
    const ifup = results[i];
    // Each ifup reads the whole file again and repeats what it could not parse: each line once.
    const problems = [...new Set(`${ifup.stderr}${ifup.status === 0 ? '' : `exit status ${ifup.status}`}`.trim().split('\n').filter(Boolean))];
    for (const nic of c.nics) {
      if (!ifup.stdout.split('\n').some((line) => line.split(/\s+/)[1] === nic.ifname && line.includes(' inet '))) {
        problems.push(`${nic.ifname} has no IPv4 address after ifup (ifupdown-ng skips an address it cannot read)`);
      }
    }
    if (problems.length > 0) {
      throw new TwinError(`container ${c.name}: ${file} (its /etc/network/interfaces) did not bring its network up:\n  ${problems.join('\n  ')}`);
    }
  }
}

/** Polls `check` until it holds; `what` (a function: what is still missing) names it in the timeout. */
async function waitFor(what: string | (() => string), deadlineMs: number, check: () => boolean, pause = 200): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!check()) {
    if (Date.now() > end) throw new TwinError(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(pause);
  }
}

export interface UpReport {
  seconds: number;
  stpSeconds: number;
  /** Where the time went: each phase of the bring-up and how long it took, in order. */
  phases: Array<{ phase: string; seconds: number }>;
}

export interface UpOptions {
  keepOnFailure?: boolean;
  /** CPU quota per container, in cores (0.25 = a quarter of one core); the others run uncapped (each in its own cgroup all the same). */
  cpu?: Record<string, number>;
}

export async function up(lab: TwinLab, say: Say, options: UpOptions = {}): Promise<UpReport> {
  const { model } = lab;
  const name = model.name;
  const started = Date.now();
  const clock = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s`;
  const step = (line: string) => say(`[${clock()}] ${line}`);
  const phases: UpReport['phases'] = [];
  let phaseStarted = started;
  const phaseDone = (phase: string) => {
    const now = Date.now();
    phases.push({ phase, seconds: (now - phaseStarted) / 1000 });
    phaseStarted = now;
  };
  preflight();
  const existing = labNamespaces(name);
  if (existing.length > 0) {
    throw new TwinError(`lab ${name} is already up (${existing.length} namespaces); run \`twin down\` first`);
  }
  try {
    mkdirSync(join(stateDir(name), 'logs'), { recursive: true });
    writeFileSync(join(stateDir(name), 'lab-dir'), `${lab.dir}\n`);
    writeFileSync(join(stateDir(name), 'apache2.conf'), readFileSync(join(__dirname, 'apache2.conf'), 'utf8').replace('@PHP_MODULE@', phpModule()));

    step(`VMs: ${model.vms.length} network namespaces (${model.vms.map((v) => v.name).join(', ')})`);
    for (const vm of model.vms) {
      must(['ip', 'netns', 'add', nsOf(name, vm.name)]);
      must(inVm(name, vm.name, ['ip', 'link', 'set', 'lo', 'up']));
    }
    phaseDone('VM namespaces');

    step(`links: ${model.links.length} wires (the model's MACs; a NIC taken down leaves the other end's carrier up)`);
    buildWires(lab);
    phaseDone('wires');

    // The VMs that hold a root bridge first, then every other VM at once: the other bridges hear
    // the root from their first BPDUs on, and fewer ports change role while the tree forms.
    const roots = new Set(model.spanningTree.domains.map((d) => model.bridges.find((b) => b.name === d.root)?.vm));
    const [first, rest] = [model.vms.filter((v) => roots.has(v.name)), model.vms.filter((v) => !roots.has(v.name))];
    for (const group of [first, rest]) {
      if (group.length === 0) continue;
      step(`network.sh: ${group.map((vm) => `hosts/${vm.name}/network.sh`).join(', ')}`);
      mustBatch(group.map((vm) => ({ argv: networkScriptArgv(lab, vm) })), { parallel: true });
    }
    phaseDone('network.sh');
    const stpStarted = Date.now();

    if (model.containers.length > 0) {
      step(`containers: ${model.containers.map((c) => `${c.name} on ${c.host}`).join(', ')}`);
      startContainers(lab, model.containers, options.cpu);
    }
    // A container's init has finished its mounts once it runs tini.
    let starting = model.containers;
    const logOf = (c: string, what: string) => join(stateDir(name), 'logs', `${c}-${what}.log`);
    await waitFor(() => `containers ${starting.map((c) => c.name).join(', ')} (their init logs: ${logOf(starting[0].name, 'init')}, …)`, 10_000, () => {
      const ready = new Set(readyContainers(lab, starting));
      starting = starting.filter((c) => !ready.has(c));
      return starting.length === 0;
    }, 50);
    phaseDone('containers');
    if (model.containers.length > 0) step(`containers: ifup from containers/<name>/interfaces (${model.containers.map((c) => c.name).join(', ')})`);
    ifupContainers(lab, model.containers);
    phaseDone('ifup');

    for (const service of ['apache2', 'haproxy', 'keepalived'] as Service[]) {
      const where = model.containers.filter((c) => c.services.includes(service)).map((c) => c.name);
      if (where.length === 0) continue;
      step(`${service}: ${where.join(', ')}`);
      startDaemons(lab, where, service);
      let missing = where;
      await waitFor(() => `${service} on ${missing.join(', ')} (see ${logOf(missing[0], service)})`, 10_000, () => {
        const started = new Set(daemonsRunning(lab, missing, service));
        missing = missing.filter((c) => !started.has(c));
        return missing.length === 0;
      }, 50);
      phaseDone(service);
    }

    await waitForStp(lab, stpStarted, step);
    const stpSeconds = (Date.now() - stpStarted) / 1000;
    phaseDone('STP (rest of)');
    await waitForService(lab, step);
    phaseDone('service');
    const seconds = (Date.now() - started) / 1000;
    step(`lab ${name} is up: full service after ${seconds.toFixed(1)} s`);
    return { seconds, stpSeconds, phases };
  } catch (error) {
    if (options.keepOnFailure) {
      say(`up failed; left as it is for inspection (twin down removes it): ${(error as Error).message}`);
    } else {
      say(`up failed, removing what was started: ${(error as Error).message}`);
      down(name, () => undefined);
    }
    throw error;
  }
}

/**
 * Each link as a wire: each end's NIC is a veth whose peer sits in the wire namespace, and tc
 * redirects every frame that arrives on one peer out of the other (STP BPDUs too, which a Linux
 * bridge not running STP would swallow). Taking a NIC down takes the carrier from its own peer
 * only: the far NIC stays up and simply hears nothing, as on VirtualBox or a libvirt UDP tunnel.
 * Taking both wire ends down pulls the cable.
 */
function buildWires(lab: TwinLab): void {
  const { model } = lab;
  const wireNs = wireNsOf(model.name);
  must(['ip', 'netns', 'add', wireNs]);
  const ipBatch: string[] = [];
  const tcBatch: string[] = [];
  for (const [i, link] of model.links.entries()) {
    const wire = wireEnds(i);
    for (const [j, end] of link.ends.entries()) {
      const nic = model.vms.find((v) => v.name === end.vm)!.nics.find((n) => n.link === link.id)!;
      // Neutral names, as VirtualBox would give: network.sh finds each NIC by its MAC.
      must(['ip', 'link', 'add', 'name', `eth${nic.adapter - 1}`, 'address', end.mac, 'netns', nsOf(model.name, end.vm), 'type', 'veth', 'peer', 'name', wire[j], 'netns', wireNs]);
      ipBatch.push(`link set dev ${wire[j]} up`);
    }
    // cls_u32 matching every frame: cls_matchall is missing from some kernels.
    for (const [from, to] of [[wire[0], wire[1]], [wire[1], wire[0]]]) {
      tcBatch.push(`qdisc add dev ${from} ingress`, wireRedirect(from, to));
    }
  }
  must(['ip', '-n', wireNs, '-batch', '-'], { input: `${ipBatch.join('\n')}\n` });
  must(['tc', '-n', wireNs, '-batch', '-'], { input: `${tcBatch.join('\n')}\n` });
}

/** Those of these containers whose init has finished its mounts (it runs tini then), from one look at /proc. */
function readyContainers(lab: TwinLab, containers: ContainerModel[]): ContainerModel[] {
  const pids = pidsByNetns(containers.map((c) => nsOf(lab.model.name, c.name)));
  return containers.filter((c) => {
    const ns = nsOf(lab.model.name, c.name);
    const holder = pids.get(ns)!.find((pid) => isHolder(pid, ns));
    if (holder === undefined) return false;
    holders.set(ns, holder);
    return commOf(holder) === 'tini';
  });
}

const networkScriptArgv = (lab: TwinLab, vm: VmModel) => inVm(lab.model.name, vm.name, ['sh', join(lab.dir, 'hosts', vm.name, 'network.sh')]);

export function runNetworkScript(lab: TwinLab, vm: VmModel): string {
  return must(networkScriptArgv(lab, vm));
}

async function waitForStp(lab: TwinLab, since: number, step: Say): Promise<void> {
  const { stp } = lab.model;
  const forwardAt = since + 2 * stp.forwardDelay * 1000;
  const deadline = forwardAt + (stp.maxAge + 2 * stp.forwardDelay + 10) * 1000;
  let lastShown = 0;
  for (;;) {
    const wrong = stpMismatches(lab);
    if (wrong.length === 0) {
      step('STP: every port in its predicted state');
      return;
    }
    if (Date.now() > deadline) {
      throw new TwinError(`STP did not reach the predicted tree: ${wrong.map((p) => `${p.bridge}/${p.ifname} is ${p.actual}, predicted ${p.state}`).join('; ')}`);
    }
    if (Date.now() - lastShown >= 5000 || lastShown === 0) {
      lastShown = Date.now();
      const left = Math.max(0, Math.ceil((forwardAt - Date.now()) / 1000));
      const counts = new Map<string, number>();
      for (const p of wrong) counts.set(p.actual, (counts.get(p.actual) ?? 0) + 1);
      step(`STP: ${left} s to forwarding (2 × forward delay); ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}`);
    }
    await sleep(100);
  }
}

async function waitForService(lab: TwinLab, step: Say): Promise<void> {
  const url = serviceUrl(lab.model);
  if (!url) return;
  const users = lab.model.vms.filter((v) => v.kind === 'user');
  for (const user of users) {
    await waitFor(`${user.name} to reach ${url}`, 60_000, () => shOn(lab, user.name, `curl -sf -m 1 ${url} >/dev/null`).status === 0, 100);
    step(`${user.name}: ${url} answers`);
  }
  // Full service: the balancer's health checks have found every server of the default backend
  // it reaches (before the VXLAN, in a lab built up to cp3, those on its own side). Round robin:
  // two rounds of requests from one curl (one connection; haproxy balances each request).
  const servers = masterServers(lab.model);
  const seen = new Set<string>();
  const requests = `curl -s -m 5 ${Array(2 * servers.length).fill(url).join(' ')}`;
  await waitFor(`answers from ${servers.join(', ')}`, 60_000, () => {
    for (const m of shOn(lab, users[0].name, requests).stdout.matchAll(/server=(\S+)/g)) seen.add(m[1]);
    return servers.every((s) => seen.has(s));
  }, 100);
  step(`${users[0].name}: answers from ${[...seen].sort().join(', ')}`);
}

// --- down ----------------------------------------------------------------------------------

/** Removes every namespace, process and veth of the lab; works after a crash or a failed up. */
export function down(name: string, say: Say): { namespaces: number; processes: number } {
  const namespaces = labNamespaces(name);
  let processes = 0;
  const killed = new Set<number>();
  for (let round = 0; round < 5; round++) {
    const pids = [...pidsByNetns(namespaces).values()].flat().filter((pid) => pid !== process.pid);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        killed.add(pid);
      } catch {
        // Already gone.
      }
    }
    pauseSync(100);
  }
  processes = killed.size;
  // A container's init exits only once every process of its PID namespace is reaped; wait
  // (bounded) until nothing we killed still runs.
  for (let i = 0; i < 100 && [...killed].some(running); i++) pauseSync(100);
  const survivors = [...killed].filter(running);
  if (survivors.length > 0) say(`warning: processes ${survivors.join(', ')} are still exiting`);
  // Deleting a namespace takes its veths with it, and its /run/netns mount.
  for (const ns of namespaces) must(['ip', 'netns', 'del', ns]);
  rmSync(stateDir(name), { recursive: true, force: true });
  // After the processes: the kernel removes only an empty cgroup. A crashed run's too.
  removeLabCgroups(name);
  say(`lab ${name}: removed ${namespaces.length} namespaces and ${processes} processes`);
  return { namespaces: namespaces.length, processes };
}

// --- memory --------------------------------------------------------------------------------

/**
 * The memory a running twin's processes hold: their proportional set size (shared pages split
 * between their users), in all and by process name, KiB.
 */
export function twinMemory(lab: string): { pssKib: number; processes: number; byName: Map<string, { kib: number; count: number }> } {
  const pids = [...pidsByNetns(labNamespaces(lab)).values()].flat();
  let pssKib = 0;
  const byName = new Map<string, { kib: number; count: number }>();
  for (const pid of pids) {
    try {
      const kib = Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
      const name = commOf(pid);
      pssKib += kib;
      const sum = byName.get(name) ?? { kib: 0, count: 0 };
      byName.set(name, { kib: sum.kib + kib, count: sum.count + 1 });
    } catch {
      // Gone between the listing and the read.
    }
  }
  return { pssKib, processes: pids.length, byName };
}

// --- status --------------------------------------------------------------------------------

export interface StatusReport {
  lab: string;
  up: boolean;
  nodes: Array<{ name: string; kind: string; up: boolean }>;
  daemons: Array<{ container: string; service: Service; running: boolean }>;
  vrrp: Array<{ group: string; container: string; priority: number; state: 'MASTER' | 'BACKUP' | 'DOWN' }>;
  stp: Array<{ bridge: string; port: string; predicted: string; actual: string; ok: boolean }>;
}

export function status(lab: TwinLab): StatusReport {
  const { model } = lab;
  const present = new Set(labNamespaces(model.name));
  const ready = new Set(readyContainers(lab, model.containers.filter((c) => present.has(nsOf(model.name, c.name)))));
  const nodes = [
    ...model.vms.map((v) => ({ name: v.name, kind: v.kind, up: present.has(nsOf(model.name, v.name)) })),
    ...model.containers.map((c) => ({ name: c.name, kind: 'container', up: ready.has(c) })),
  ];
  const upNodes = new Set(nodes.filter((n) => n.up).map((n) => n.name));
  const daemons = model.containers.flatMap((c) =>
    c.services.map((service) => ({ container: c.name, service, running: upNodes.has(c.name) && daemonRunning(lab, c.name, service) })),
  );
  const vrrp = model.vrrp.flatMap((g) =>
    g.members.map((m) => {
      const holds = upNodes.has(m.container) && shOn(lab, m.container, 'ip -4 -o addr show').stdout.includes(` ${g.vip}/`);
      const alive = daemons.some((d) => d.container === m.container && d.service === 'keepalived' && d.running);
      return { group: g.name, container: m.container, priority: m.priority, state: (alive ? (holds ? 'MASTER' : 'BACKUP') : 'DOWN') as 'MASTER' | 'BACKUP' | 'DOWN' };
    }),
  );
  const actual = present.size > 0 ? readStpStates(lab) : new Map<string, string>();
  const stp = model.spanningTree.ports.map((p) => {
    const state = actual.get(`${p.bridge}/${p.ifname}`) ?? 'absent';
    return { bridge: p.bridge, port: p.ifname, predicted: p.state, actual: state, ok: state === p.state };
  });
  return { lab: model.name, up: present.size > 0, nodes, daemons, vrrp, stp };
}

// --- faults --------------------------------------------------------------------------------

/**
 * Injects or heals a fault: a link `a:b`, a VXLAN segment, a bridge, a VM, a container, or
 * `container:daemon`. `down` is what a student types (a link: on its first end, the other keeps
 * carrier); `unplug` pulls a link's cable (both ends lose carrier); `up` heals either.
 */
export function fault(lab: TwinLab, target: string, action: FaultAction): string {
  const { model } = lab;
  const name = model.name;
  const t = faultTarget(model, target);
  if (!t) throw new TwinError(`unknown fault target "${target}"; targets: ${faultTargetNames(model).join(', ')}`);
  if (action === 'unplug' && t.kind !== 'link') throw new TwinError(`unplug pulls a link's cable: ${target} is a ${t.kind}, not a link (a:b)`);
  switch (t.kind) {
    case 'link': {
      const [end, far] = t.link.ends;
      const wire = wireEnds(model.links.indexOf(t.link));
      const setWire = (state: 'up' | 'down') => must(['ip', '-n', wireNsOf(name), '-batch', '-'], { input: wire.map((w) => `link set dev ${w} ${state}\n`).join('') });
      if (action === 'unplug') {
        setWire('down');
        return `link ${target} unplugged: ${end.vm} ${end.ifname} and ${far.vm} ${far.ifname} lose carrier`;
      }
      if (action === 'up') {
        setWire('up');
        healWire(wireOf(lab, model.links.indexOf(t.link)));
      }
      must(inVm(name, end.vm, ['ip', 'link', 'set', 'dev', end.ifname, action]));
      return action === 'down' ? `link ${target} down on ${end.vm} ${end.ifname}; ${far.vm} ${far.ifname} keeps its carrier` : `link ${target} up (plugged in, ${end.vm} ${end.ifname} up)`;
    }
    case 'daemon': {
      const { container: c } = t;
      const service = t.service as Service;
      if (!c.services.includes(service)) throw new TwinError(`${c.name} runs ${c.services.join(', ') || 'no daemon'}, not ${t.service}`);
      if (action === 'down') stopDaemon(lab, c.name, service);
      else if (!daemonRunning(lab, c.name, service)) startDaemon(lab, c.name, service);
      return `${target} ${action}`;
    }
    case 'vxlan':
      // The tunnel device on every member host: no VXLAN traffic in either direction.
      for (const m of t.segment.members) must(inVm(name, m.vm, ['ip', 'link', 'set', 'dev', t.segment.name, action]));
      return `VXLAN ${target} ${action} (on ${t.segment.members.map((m) => m.vm).join(', ')})`;
    case 'bridge':
      must(inVm(name, t.bridge.vm, ['ip', 'link', 'set', 'dev', t.bridge.name, action]));
      return `bridge ${target} ${action} (on ${t.bridge.vm})`;
    case 'vm':
      // A VM that goes down takes its links and bridges with it; up brings them back as configured.
      for (const nic of t.vm.nics) must(inVm(name, t.vm.name, ['ip', 'link', 'set', 'dev', nic.ifname, action]));
      for (const b of t.vm.bridges) must(inVm(name, t.vm.name, ['ip', 'link', 'set', 'dev', b, action]));
      return `${t.vm.kind} ${target} ${action}`;
    case 'container': {
      const c = t.container;
      // Down like a crash: off the network first, so no daemon can say goodbye (no VRRP priority 0).
      for (const nic of c.nics) must(onNode(lab, c.name, ['ip', 'link', 'set', 'dev', nic.ifname, action]));
      if (action === 'down') for (const s of c.services) stopDaemon(lab, c.name, s, 'KILL');
      if (action === 'up') for (const s of c.services) if (!daemonRunning(lab, c.name, s)) startDaemon(lab, c.name, s);
      return `container ${target} ${action}`;
    }
  }
}

/** A link's cable in the wire namespace, for impairments (impair.ts). */
function wireOf(lab: TwinLab, index: number): Wire {
  return { ns: wireNsOf(lab.model.name), ends: wireEnds(index), pidFile: join(stateDir(lab.model.name), 'impair', `link${index}.pid`) };
}

/**
 * Impairs a link's cable, both directions (each gets the delay, the loss and the rate): netem in
 * the wire namespace, or its user-space stand-in on a kernel without sch_netem. `up` heals it.
 */
export function impair(lab: TwinLab, target: string, impairment: Impairment): { message: string; mechanism: ImpairMechanism } {
  const link = lab.model.links.find((l) => l.id === target);
  if (!link) {
    const kind = faultTarget(lab.model, target)?.kind;
    throw new TwinError(`${kind ? `${target} is a ${kind}: ` : `unknown link "${target}"; `}impairments apply to links: ${lab.model.links.map((l) => l.id).join(', ')}`);
  }
  if (!labNamespaces(lab.model.name).includes(wireNsOf(lab.model.name))) throw new TwinError(`lab ${lab.model.name} is down: bring it up first (twin up)`);
  const mechanism = impairWire(wireOf(lab, lab.model.links.indexOf(link)), impairment);
  const how = mechanism === 'netem' ? 'netem' : 'a user-space netem (this kernel has no sch_netem)';
  return { mechanism, message: `link ${target} impaired, each direction: ${describeImpairment(impairment)} (${how}); \`twin fault ${target} up\` heals it` };
}
