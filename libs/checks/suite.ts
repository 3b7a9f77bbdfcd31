// The handout's checkpoints (cp1–cp4), the security property (sec) and fault drills (drill),
// written once against the Driver interface so they grade the twin and a Vagrant lab alike.
// A check that needs what the lab lacks (a lab of switches and users has no VRRP, no haproxy,
// no VXLAN) is reported as not applicable: neither passed nor failed.
import { createHash } from 'crypto';
import type { ContainerModel, LabModel, VmModel, VrrpGroupModel, VrrpMemberModel, VxlanModel } from '../model/types';
import { bigPage } from '../render';
import { userPathToRoot } from '../model/paths';
import { interSwitchLinks, linkFailureConvergence } from '../model/link-failure';
import { masterServers, serviceBackend, serviceUrl } from '../model/service';
import { builtBy, stageOf, type Stage } from '../model/stage';
import type { Driver } from '../targets/driver';
import { get, holdsWithin, pause, serversSeen, stpDiff, vipHolders, vipPrefixes, waitForTree, waitUntil } from '../observe/observe';
import { outageOf, Probe } from '../observe/probe';

/** not-built: the lab is built up to a stage before the one that configures what the check grades. */
export type CheckStatus = 'pass' | 'fail' | 'not-applicable' | 'not-built';

export interface CheckResult {
  id: string;
  title: string;
  status: CheckStatus;
  /** status === 'pass'. */
  pass: boolean;
  detail: string;
  figures?: Record<string, number>;
}

export interface CheckReport {
  ok: boolean;
  target: string;
  lab: string;
  /** How far the lab is built: checks of later stages are 'not-built'. */
  stage: Stage;
  checks: CheckResult[];
}

/** What the checks need to know about the balanced service, derived once from the model. */
export interface Roles {
  model: LabModel;
  url: string;
  /** False in a lab built up to cp2: the VRRP pair runs, haproxy not yet (users ping the VIP, `url` is not served). */
  http: boolean;
  users: string[];
  group: VrrpGroupModel;
  master: VrrpMemberModel;
  backup: VrrpMemberModel;
  masterC: ContainerModel;
  backupC: ContainerModel;
  /** The bridge that connects the master to the VIP's subnet. */
  masterBridge: string;
  segment: VxlanModel | undefined;
  servers: string[];
  /** Servers on the same internal bridge as a balancer (what it reaches without VXLAN). */
  sameSide: (balancer: ContainerModel) => string[];
  check: { inter: number; fall: number; rise: number };
}

/** What the checks know about the lab: its users, and the balanced service when it has one. */
export interface LabRoles {
  model: LabModel;
  users: string[];
  /** Null in a lab without a VRRP group of two balancers and a haproxy frontend (switches and users only). */
  service: Roles | null;
}

const noService = 'the lab has no balanced service (a VRRP group of two or more balancers and a haproxy frontend)';

export function labRolesOf(model: LabModel): LabRoles {
  return { model, users: usersOf(model), service: serviceRolesOf(model) };
}

/** The service's roles; for the bench, which measures nothing else. */
export function rolesOf(model: LabModel): Roles {
  const roles = serviceRolesOf(model);
  if (!roles) throw new Error(`${model.name}: ${noService}`);
  return roles;
}

const usersOf = (model: LabModel) => model.vms.filter((v) => v.kind === 'user').map((v) => v.name);

function serviceRolesOf(model: LabModel): Roles | null {
  const url = serviceUrl(model);
  const group = model.vrrp[0];
  if (!group || group.members.length < 2 || (!url && stageOf(model) !== 'cp2')) return null;
  const master = group.members.find((m) => m.container === group.master)!;
  const backup = [...group.members].filter((m) => m !== master).sort((a, b) => b.priority - a.priority)[0];
  const containerOf = (name: string) => model.containers.find((c) => c.name === name)!;
  const masterC = containerOf(master.container);
  const backend = serviceBackend(model) ?? { servers: [], check: { inter: 2000, fall: 3, rise: 2 } };
  const inner = (c: ContainerModel) => c.nics.find((n) => n.subnet !== group.subnet);
  return {
    model,
    url: url ?? `http://${group.vip}/`,
    http: url !== null,
    users: usersOf(model),
    group,
    master,
    backup,
    masterC,
    backupC: containerOf(backup.container),
    masterBridge: masterC.nics.find((n) => n.ifname === master.ifname)!.bridge,
    segment: model.vxlan[0],
    servers: backend.servers.map((s) => s.name),
    sameSide: (balancer) => {
      const bridge = inner(balancer)?.bridge;
      return backend.servers.filter((s) => containerOf(s.name).nics.some((n) => n.bridge === bridge)).map((s) => s.name);
    },
    check: backend.check,
  };
}

/**
 * Waits for the lab's steady state: the predicted tree and, when the lab has a service, the
 * master alone holding the VIP, every user served through the master, and every server answering
 * through it. Answers through another balancer do not count: after a fault its health checks may
 * still hold servers down. On failure, the error ends with the balancers' keepalived logs.
 */
export function settle(driver: Driver, r: Roles | null): void {
  waitForTree(driver, {});
  if (!r) return;
  try {
    const master = r.master.container;
    waitUntil(driver, `${master} alone holding ${r.group.vip}`, 30_000, () => vipHolders(driver, r.group).join() === master, 100);
    if (!r.http) {
      for (const user of r.users) waitUntil(driver, `${user} reaching ${r.group.vip}`, 30_000, () => pings(driver, user, r.group.vip), 100);
      return;
    }
    for (const user of r.users) waitUntil(driver, `${user} served through ${master}`, 30_000, () => get(driver, user, r.url).balancer === master, 100);
    // Every server the master reaches: before the VXLAN (a lab built up to cp3), its own side.
    const servers = masterServers(r.model);
    const seen = new Set<string>();
    waitUntil(driver, `answers from ${servers.join(', ')} through ${master}`, 60_000, () => {
      const a = get(driver, r.users[0], r.url);
      if (a.server && a.balancer === master) seen.add(a.server);
      return servers.every((s) => seen.has(s));
    }, 100);
  } catch (error) {
    throw new Error(`${(error as Error).message}${keepalivedLogs(driver, r)}`);
  }
}

/** One ping from a node answered within a second. */
const pings = (driver: Driver, node: string, address: string) => driver.exec(node, `ping -c 1 -W 1 ${address}`).status === 0;

/** The end of each balancer's keepalived log, to tell why the lab did not settle without a rerun. */
function keepalivedLogs(driver: Driver, r: Roles): string {
  if (!driver.daemonLog) return '';
  return r.group.members
    .map((m) => `\n--- ${m.container} keepalived (last lines)\n${driver.daemonLog!(m.container, 'keepalived').map((l) => `    ${l}`).join('\n')}`)
    .join('');
}

class Findings {
  readonly problems: string[] = [];
  readonly notes: string[] = [];
  readonly figures: Record<string, number> = {};
  expect(ok: boolean, problem: string): void {
    if (!ok) this.problems.push(problem);
  }
  note(text: string): void {
    this.notes.push(text);
  }
}

interface Check {
  id: string;
  title: string;
  /** Reads state only, so it runs when the lab is not in its steady state too (runChecks). */
  readsOnly?: boolean;
  /** Why the check does not apply to this lab, or null when it does. */
  notApplicable: (lab: LabRoles) => string | null;
  run: (driver: Driver, lab: LabRoles, f: Findings) => void;
}

/** A check of the balanced service: not applicable without one, or when `needs` says what else is missing. */
function serviceCheck(check: { id: string; title: string; readsOnly?: boolean; needs?: (r: Roles) => string | null; run: (driver: Driver, r: Roles, f: Findings) => void }): Check {
  return {
    id: check.id,
    title: check.title,
    readsOnly: check.readsOnly,
    notApplicable: (lab) => (lab.service ? check.needs?.(lab.service) ?? null : noService),
    run: (driver, lab, f) => check.run(driver, lab.service!, f),
  };
}

const needsStp = (lab: LabRoles) => (lab.model.bridges.some((b) => b.stp) ? null : 'the lab has no bridge running STP');
const needsVxlan = (r: Roles) => (r.segment ? null : 'the lab has no VXLAN');
/** Checkpoint 3 is graded before the VXLAN: cut it where it exists. */
const vxlanToCut = (r: Roles) => (r.segment ? [r.segment.name] : []);

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
export const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Runs `body` with a fault in place and always heals it, then waits for the steady state. */
function withFault(driver: Driver, r: Roles | null, targets: string[], body: () => void): void {
  try {
    for (const t of targets) driver.fault(t, 'down');
    body();
  } finally {
    for (const t of [...targets].reverse()) driver.fault(t, 'up');
    settle(driver, r);
  }
}

/**
 * What a user fails to reach (ping) among the other users and the bridges' addresses: one
 * command per user, which matters over Vagrant (about 0.2 s per command).
 */
function unreachableFrom(driver: Driver, model: LabModel, user: string): string[] {
  const addresses = [
    ...model.vms.filter((v) => v.kind === 'user' && v.name !== user).flatMap((v) => v.nics.flatMap((n) => (n.address ? [n.address] : []))),
    ...model.bridges.flatMap((b) => (b.address ? [b.address] : [])),
  ];
  if (addresses.length === 0) return [];
  const out = driver.exec(user, addresses.map((a) => `ping -c 1 -W 1 ${a} >/dev/null 2>&1 || echo ${a}`).join('; ')).stdout;
  return out.split('\n').filter(Boolean);
}

/**
 * How long a user may need to reach hosts again once the tree has converged: a bridge keeps
 * sending frames for a quiet host out of the port it learnt it on until a broadcast from that
 * host teaches it the new way, and a host whose ARP entry is still valid broadcasts only after
 * Linux's neighbour probing gives up on unicast (5 s delay, then 3 probes 1 s apart). With the
 * service, keepalived's gratuitous ARP every second does this at once. Measured up to 9.3 s on
 * emulated VMs, where one round of pings over ssh takes seconds: the bound leaves room for three.
 */
const relearnMs = 30_000;

/**
 * Slack on a measured convergence beyond the prediction's own window: the tree is polled every
 * 250 ms plus one command per STP VM (0.2 s each over Vagrant), and timers tick in jiffies.
 */
const convergenceSlackMs = (predictedMs: number) => 1500 + 0.05 * predictedMs;

export const checks: Check[] = [
  {
    id: 'cp1.stp-on',
    readsOnly: true,
    title: 'STP runs on every bridge of the external network',
    notApplicable: needsStp,
    run: (driver, r, f) => {
      for (const b of r.model.bridges.filter((x) => x.stp)) {
        const state = driver.exec(b.vm, `cat /sys/class/net/${b.name}/bridge/stp_state`).stdout.trim();
        f.expect(state === '1', `${b.name}: stp_state ${state || 'absent'}`);
      }
    },
  },
  {
    id: 'cp1.root',
    readsOnly: true,
    title: 'every bridge agrees on the predicted root',
    notApplicable: needsStp,
    run: (driver, r, f) => {
      const root = r.model.spanningTree.domains[0];
      for (const b of r.model.bridges.filter((x) => x.stp)) {
        const seen = driver.exec(b.vm, `cat /sys/class/net/${b.name}/bridge/root_id`).stdout.trim();
        f.expect(seen === root.rootId, `${b.name} sees root ${seen}, predicted ${root.rootId} (${root.root})`);
      }
      f.note(`root ${root.root} (${root.rootId})`);
    },
  },
  {
    id: 'cp1.ports',
    readsOnly: true,
    title: 'every port is in the predicted state',
    notApplicable: needsStp,
    run: (driver, r, f) => {
      const diff = stpDiff(driver, r.model.spanningTree.ports);
      f.expect(diff.length === 0, `differs: ${diff.join(', ')}`);
      f.note(`blocked: ${r.model.spanningTree.blocked.map((p) => `${p.bridge}/${p.ifname}`).join(', ') || 'none'}`);
    },
  },
  {
    id: 'cp1.link-failures',
    title: 'after each inter-switch link failure (`ip link set … down` on its first end) the tree re-converges in the predicted time and users keep the service',
    notApplicable: (lab) => (interSwitchLinks(lab.model).length > 0 ? null : 'the lab has no link between two bridges running STP'),
    run: (driver, lab, f) => {
      // The measurement's resolution is one reading of every STP port (seconds over ssh to
      // emulated VMs): it widens the slack.
      const started = driver.now();
      stpDiff(driver, lab.model.spanningTree.ports);
      const readMs = driver.now() - started;
      f.figures.stp_read_ms = readMs;
      for (const link of interSwitchLinks(lab.model)) {
        // What the driver's `down` does to a link: its first end goes down, the other keeps carrier.
        const p = linkFailureConvergence(lab.model, { link: link.id, how: 'down', end: 0 });
        withFault(driver, lab.service, [link.id], () => {
          const ms = waitForTree(driver, p.faults);
          f.figures[`${link.id}_converge_ms`] = ms;
          f.figures[`${link.id}_predicted_ms`] = p.maxMs;
          const slack = convergenceSlackMs(p.maxMs) + readMs;
          const window = p.minMs === p.maxMs ? seconds(p.maxMs) : `${seconds(p.minMs)}–${seconds(p.maxMs)}`;
          f.expect(ms >= p.minMs - slack && ms <= p.maxMs + slack, `${link.id} down: converged in ${seconds(ms)}, predicted ${window} (${p.case}: ${p.why})`);
          for (const user of lab.users) {
            if (lab.service?.http) {
              const url = lab.service.url;
              f.expect(holdsWithin(driver, 5000, () => get(driver, user, url, 1).ok, 100), `${link.id} down: ${user} lost the service`);
            } else {
              let lost: string[] = [];
              const since = driver.now();
              holdsWithin(driver, relearnMs, () => (lost = unreachableFrom(driver, lab.model, user)).length === 0, 100);
              f.figures[`${link.id}_${user}_reachable_ms`] = driver.now() - since;
              f.expect(lost.length === 0, `${link.id} down: ${user} cannot reach ${lost.join(', ')} ${seconds(relearnMs)} after the tree converged`);
            }
          }
          f.note(`${link.id} down on ${link.ends[0].vm}: ${p.case}, converged in ${seconds(ms)} (predicted ${window})`);
        });
      }
      if (!lab.service?.http) f.note(`no service: users checked by pinging each other and the bridge addresses`);
    },
  },
  serviceCheck({
    id: 'cp2.roles',
    readsOnly: true,
    title: 'the highest priority balancer is master, the others backup',
    run: (driver, r, f) => {
      const prefixes = vipPrefixes(driver, r.group);
      const holders = [...prefixes.keys()];
      f.expect(holders.join() === r.master.container, `VIP ${r.group.vip} held by ${holders.join(', ') || 'nobody'}, expected ${r.master.container}`);
      // With the subnet's netmask: keepalived takes whatever virtual_ipaddress says.
      for (const [holder, prefix] of prefixes) f.expect(prefix === r.group.prefix, `${holder} holds ${r.group.vip}/${prefix}, the subnet is /${r.group.prefix}`);
    },
  }),
  serviceCheck({
    id: 'cp2.failover',
    title: `the backup takes the VIP when the master loses the external network, in about the VRRP master-down interval`,
    run: (driver, r, f) => {
      const predictedMs = r.backup.masterDownInterval * 1000;
      const safe = r.users.filter((u) => !pathUses(r, u, r.masterBridge));
      const probes = r.http ? safe.map((u) => new Probe(driver, u, r.url)) : [];
      withFault(driver, r, [r.masterBridge], () => {
        const ms = waitUntil(driver, `${r.backup.container} holding the VIP`, predictedMs * 3 + 5000, () => vipHolders(driver, r.group).includes(r.backup.container), 50);
        f.figures.failover_ms = ms;
        f.figures.predicted_ms = Math.round(predictedMs);
        f.expect(ms <= predictedMs * 1.2 + 500, `took ${seconds(ms)}, formula says ${seconds(predictedMs)}`);
        // The master's bridge also carries the VXLAN: until the backup's health checks mark the
        // servers behind it down, some of its requests still go there. Within that bound, every
        // answer must come back.
        const detection = (r.check.fall + 1) * r.check.inter + 2000;
        pause(1000);
        for (const [i, p] of probes.entries()) {
          const o = outageOf(p.stop());
          f.figures[`${safe[i]}_outage_ms`] = o.outageMs;
          const served = holdsWithin(driver, detection, () => serversSeen(driver, safe[i], r.url, 3).every((a) => a.ok), 100);
          f.expect(served, `${safe[i]} has no steady service ${(detection / 1000).toFixed(0)} s after the failover`);
        }
        // Without haproxy yet (a lab built up to cp2): the users reach the VIP on the backup.
        if (!r.http) for (const u of safe) f.expect(holdsWithin(driver, 5000, () => pings(driver, u, r.group.vip), 100), `${u} cannot ping ${r.group.vip} 5 s after the failover`);
        f.note(`${r.masterBridge} down: ${r.backup.container} master after ${seconds(ms)} (formula ${seconds(predictedMs)})`);
      });
    },
  }),
  serviceCheck({
    id: 'cp2.preempt',
    title: 'when the master is back it takes the VIP again, and every user gets the service back (no stale ARP)',
    run: (driver, r, f) => {
      driver.fault(r.masterBridge, 'down');
      try {
        waitUntil(driver, `${r.backup.container} holding the VIP`, 30_000, () => vipHolders(driver, r.group).includes(r.backup.container));
      } finally {
        driver.fault(r.masterBridge, 'up');
      }
      const { stp } = r.model;
      const ms = waitUntil(driver, `${r.master.container} alone holding the VIP again`, (2 * stp.forwardDelay + stp.maxAge) * 1000 + 10_000, () => vipHolders(driver, r.group).join() === r.master.container, 100);
      f.figures.takeback_ms = ms;
      f.figures.predicted_ms = 2 * stp.forwardDelay * 1000;
      f.note(`${r.masterBridge} up: ${r.master.container} master again after ${seconds(ms)} (2 × forward delay = ${2 * stp.forwardDelay} s)`);
      waitForTree(driver, {});
      // Stale means a MAC the master does not answer on. With the virtual MAC, the master's own
      // NIC MAC is right too: the kernel ARPs from the VIP through that NIC (arp_announce 0).
      const masterMacs = [r.group.vipMac, r.masterC.nics.find((n) => n.ifname === r.master.ifname)!.mac].filter((m): m is string => !!m);
      const expectFreshArp = (user: string) => {
        const arp = driver.exec(user, `ip neigh show ${r.group.vip}`).stdout;
        f.expect(!arp.includes('lladdr') || masterMacs.some((m) => arp.includes(m)), `${user}: ARP for ${r.group.vip} is stale: ${arp.trim()}`);
      };
      for (const user of r.users) {
        if (!r.http) {
          f.expect(holdsWithin(driver, 3000, () => pings(driver, user, r.group.vip), 100), `${user} cannot ping ${r.group.vip} 3 s after the takeback`);
        } else {
          let answer = get(driver, user, r.url, 1);
          holdsWithin(driver, 3000, () => (answer = get(driver, user, r.url, 1)).balancer === r.master.container, 100);
          f.expect(answer.balancer === r.master.container, `${user}: ${answer.ok ? `served by ${answer.balancer}` : 'no service'}, 3 s after the takeback`);
        }
        expectFreshArp(user);
      }
      settle(driver, r);
    },
  }),
  serviceCheck({
    id: 'cp3.vxlan-cut',
    title: 'with the VXLAN cut (or before it exists), the master rotates over its own side and shows its inner address as client',
    run: (driver, r, f) => {
      const mine = r.sameSide(r.masterC);
      const inner = r.masterC.nics.find((n) => n.subnet !== r.group.subnet)!.address;
      withFault(driver, r, vxlanToCut(r), () => {
        // The health checks must first notice the servers behind the tunnel.
        waitUntil(driver, `answers only from ${mine.join(', ')}`, (r.check.fall + 2) * r.check.inter + 10_000, () =>
          serversSeen(driver, r.users[0], r.url, mine.length * 2).every((a) => a.server !== undefined && mine.includes(a.server)),
        );
        const answers = serversSeen(driver, r.users[0], r.url, mine.length * 3);
        const servers = [...new Set(answers.map((a) => a.server))].sort();
        f.expect(servers.join() === [...mine].sort().join(), `answers from ${servers.join(', ')}, expected ${mine.join(', ')}`);
        f.expect(answers.every((a) => a.client === inner), `client addresses ${[...new Set(answers.map((a) => a.client))].join(', ')}, expected ${inner}`);
        f.note(`round robin over ${servers.join(', ')}; client ${inner}`);
      });
    },
  }),
  serviceCheck({
    id: 'cp3.backup-serves',
    title: 'with the backup as master (VXLAN cut, or before it exists), every answer comes from its own side',
    run: (driver, r, f) => {
      const theirs = r.sameSide(r.backupC);
      withFault(driver, r, [...vxlanToCut(r), `${r.master.container}:keepalived`], () => {
        waitUntil(driver, `${r.backup.container} holding the VIP`, 10_000, () => vipHolders(driver, r.group).includes(r.backup.container));
        const user = r.users[r.users.length - 1];
        waitUntil(driver, `answers only from ${theirs.join(', ')}`, (r.check.fall + 2) * r.check.inter + 10_000, () =>
          serversSeen(driver, user, r.url, 2).every((a) => a.server !== undefined && theirs.includes(a.server)),
        );
        const answers = serversSeen(driver, user, r.url, 6);
        f.expect(answers.every((a) => a.server !== undefined && theirs.includes(a.server) && a.balancer === r.backup.container), `answers: ${answers.map((a) => `${a.server}@${a.balancer}`).join(', ')}`);
        f.note(`${r.backup.container} master: answers from ${[...new Set(answers.map((a) => a.server))].join(', ')}`);
      });
    },
  }),
  serviceCheck({
    id: 'cp4.internal',
    readsOnly: true,
    title: 'every internal address reaches every other one',
    run: (driver, r, f) => {
      const subnet = r.masterC.nics.find((n) => n.subnet !== r.group.subnet)!.subnet;
      const members = r.model.containers.flatMap((c) => c.nics.filter((n) => n.subnet === subnet).map((n) => ({ c: c.name, address: n.address })));
      for (const from of members) {
        const targets = members.filter((m) => m !== from).map((m) => m.address);
        // All at once; a lost first ping is tried again (it may have gone to an ARP entry that
        // failed while the path was down), so a source costs at most 2 s.
        const out = driver.exec(from.c, `${targets.map((a) => `{ { ping -c 1 -W 1 ${a} || ping -c 1 -W 1 ${a}; } >/dev/null 2>&1 && echo "${a} ok" || echo "${a} fail"; } &`).join(' ')} wait`).stdout;
        for (const a of targets) f.expect(out.includes(`${a} ok`), `${from.c} cannot reach ${a}`);
      }
      f.note(`${members.length} addresses, ${members.length * (members.length - 1)} pings`);
    },
  }),
  serviceCheck({
    id: 'cp4.rotation',
    readsOnly: true,
    title: 'the master spreads requests over every server',
    run: (driver, r, f) => {
      const expected = [...r.servers].sort().join();
      const sample = () => serversSeen(driver, r.users[0], r.url, r.servers.length * 2);
      let answers = sample();
      let seen = [...new Set(answers.map((a) => a.server))].sort();
      if (seen.join() !== expected) {
        // A server whose health check failed once is out of the rotation until `rise` checks pass:
        // a second sample after that says whether it stays out.
        f.note(`first sample: answers from ${seen.join(', ')}`);
        pause((r.check.rise + 1) * r.check.inter);
        answers = sample();
        seen = [...new Set(answers.map((a) => a.server))].sort();
      }
      f.expect(seen.join() === expected, `answers from ${seen.join(', ')}, expected ${r.servers.join(', ')}`);
      const others = answers.filter((a) => a.balancer !== r.master.container);
      f.expect(others.length === 0, `${others.length} of ${answers.length} answers not through ${r.master.container}`);
      // Who answered, and through which balancer when it was not the master.
      f.note(answers.map((a) => (a.balancer === r.master.container ? a.server : `${a.server ?? 'no answer'}@${a.balancer ?? '?'}`)).join(' → '));
    },
  }),
  serviceCheck({
    id: 'cp4.large',
    readsOnly: true,
    title: 'a response of more than 1 MB crosses the VXLAN intact',
    needs: (r) => needsVxlan(r) ?? (farServer(r) ? null : 'every server is on the master side of the VXLAN'),
    run: (driver, r, f) => {
      const far = farServer(r)!;
      const address = r.model.haproxy!.backends.flatMap((b) => b.servers).find((s) => s.name === far)!.address;
      const expected = sha256(bigPage.line.repeat(bigPage.lines));
      const out = driver.exec(r.master.container, `curl -sf -m 10 http://${address}/big.php | sha256sum`).stdout.split(' ')[0];
      f.expect(out === expected, `${r.master.container} ← ${far}: sha256 ${out || 'none'}, expected ${expected}`);
      f.figures.bytes = bigPage.line.length * bigPage.lines;
      f.note(`${f.figures.bytes} bytes from ${far} to ${r.master.container}, MTU ${r.segment!.mtu} inside the tunnel`);
    },
  }),
  serviceCheck({
    id: 'sec.no-internal-access',
    readsOnly: true,
    title: 'users cannot reach the internal subnet, not even routing through the VIP',
    run: (driver, r, f) => {
      const subnet = r.model.subnets.find((s) => s.name !== r.group.subnet)!;
      const servers = r.model.haproxy!.backends.flatMap((b) => b.servers);
      for (const user of r.users) {
        for (const s of servers) f.expect(driver.exec(user, `curl -s -m 1 http://${s.address}/`).status !== 0, `${user} reached ${s.address}`);
        driver.exec(user, `ip route add ${subnet.cidr} via ${r.group.vip}`);
        try {
          for (const s of servers) f.expect(driver.exec(user, `curl -s -m 1 http://${s.address}/`).status !== 0, `${user} reached ${s.address} through the VIP`);
        } finally {
          driver.exec(user, `ip route del ${subnet.cidr} via ${r.group.vip}`);
        }
      }
    },
  }),
  serviceCheck({
    id: 'sec.no-forwarding',
    readsOnly: true,
    title: 'balancers forward no packets',
    run: (driver, r, f) => {
      for (const m of r.group.members) {
        const value = driver.exec(m.container, 'cat /proc/sys/net/ipv4/ip_forward').stdout.trim();
        f.expect(value === '0', `${m.container}: ip_forward = ${value}`);
      }
    },
  }),
  serviceCheck({
    id: 'drill.haproxy-kill',
    title: "killing haproxy on the master moves the VIP to the backup",
    run: (driver, r, f) => {
      withFault(driver, r, [`${r.master.container}:haproxy`], () => {
        const ms = waitUntil(driver, `${r.backup.container} holding the VIP`, 15_000, () => vipHolders(driver, r.group).join() === r.backup.container);
        f.figures.failover_ms = ms;
        f.expect(get(driver, r.users[0], r.url).balancer === r.backup.container, `${r.users[0]} not served by ${r.backup.container}`);
        f.note(`VIP on ${r.backup.container} after ${seconds(ms)}`);
      });
    },
  }),
  serviceCheck({
    id: 'drill.server-stop',
    title: 'stopping a server loses no request',
    run: (driver, r, f) => {
      const victim = r.sameSide(r.masterC)[0];
      const probe = new Probe(driver, r.users[0], r.url);
      withFault(driver, r, [`${victim}:apache2`], () => {
        pause((r.check.fall + 1) * r.check.inter + 1000);
        const o = outageOf(probe.stop());
        f.figures.failed_requests = o.failed;
        f.figures.requests = o.requests;
        f.expect(o.failed === 0, `${o.failed} of ${o.requests} requests failed`);
        f.note(`${victim} stopped: ${o.failed} of ${o.requests} requests failed`);
      });
    },
  }),
  serviceCheck({
    id: 'drill.switch-down',
    title: 'a switch down: users on the other switches keep the service',
    needs: (r) => (switchToLose(r) ? null : 'the lab has no switch that is not the STP root'),
    run: (driver, r, f) => {
      const { sw, others } = switchToLose(r)!;
      const probes = others.map((u) => new Probe(driver, u, r.url));
      withFault(driver, r, [sw.name], () => {
        // Its bridge is gone; its neighbours keep carrier on their ports to it (VMs' NICs, not cables).
        waitForTree(driver, { downBridges: [sw.name] });
        for (const [i, p] of probes.entries()) {
          const o = outageOf(p.stop());
          f.figures[`${others[i]}_failed`] = o.failed;
          f.expect(o.failed === 0, `${others[i]}: ${o.failed} requests failed`);
        }
        f.note(`${sw.name} down: ${others.join(', ')} kept the service`);
      });
    },
  }),
  serviceCheck({
    id: 'drill.vxlan-cut',
    title: 'the VXLAN cut and restored: the service continues, the far servers come back',
    needs: needsVxlan,
    run: (driver, r, f) => {
      const probe = new Probe(driver, r.users[0], r.url);
      withFault(driver, r, [r.segment!.name], () => {
        pause((r.check.fall + 1) * r.check.inter + 1000);
        const o = outageOf(probe.stop());
        f.figures.outage_ms = o.outageMs;
        f.figures.failed_requests = o.failed;
        f.expect(get(driver, r.users[0], r.url).ok, 'no service with the VXLAN cut');
        f.note(`cut: outage ${seconds(o.outageMs)}, ${o.failed} failed requests (health checks: ${r.check.fall} × ${r.check.inter} ms)`);
      });
      // settle() after the heal waited for answers from every server again.
    },
  }),
];

/**
 * The stage that builds what a check grades: cpN.* at checkpoint N; balancers forwarding nothing
 * at cp2 (they exist then); the VXLAN drill at cp4; the other sec.* and drill.* need the service (cp3).
 */
export function builtAt(id: string): Stage {
  const checkpoint = /^(cp[1-4])\./.exec(id)?.[1] as Stage | undefined;
  return checkpoint ?? ({ 'sec.no-forwarding': 'cp2', 'drill.vxlan-cut': 'cp4' } as Record<string, Stage>)[id] ?? 'cp3';
}

/** A switch that is not the root, and the users not attached to it (who must keep the service when it fails). */
export function switchToLose(r: Roles): { sw: VmModel; others: string[] } | undefined {
  const sw = r.model.vms.find((v) => v.kind === 'switch' && !r.model.spanningTree.domains.some((d) => d.root === v.name));
  if (!sw) return undefined;
  const others = r.users.filter((u) => !r.model.links.some((l) => l.ends.some((e) => e.vm === u) && l.ends.some((e) => e.vm === sw.name)));
  return { sw, others };
}

/** A server on the other side of the VXLAN from the master. */
const farServer = (r: Roles) => r.servers.find((s) => !r.sameSide(r.masterC).includes(s));

/** True when a user's frames to the root bridge pass through `bridge`. */
function pathUses(r: Roles, user: string, bridge: string): boolean {
  return userPathToRoot(r.model, user).includes(bridge);
}

/**
 * Runs the checks. In a lab that never reaches its steady state (a wrong setting, a stopped
 * daemon, `lab break`) those that only read state (`readsOnly`) still run and show what is
 * wrong; the others measure a fault from the steady state, so they fail without running.
 * `settle: false` skips the wait for the steady state: the checks read the lab as it is now (a
 * test that just broke it).
 */
export function runChecks(driver: Driver, options: { only?: string; say?: (line: string) => void; settle?: boolean } = {}): CheckReport {
  const lab = labRolesOf(driver.model);
  const say = options.say ?? (() => undefined);
  const results: CheckResult[] = [];
  let unsettled: string | null = null;
  try {
    if (options.settle !== false) settle(driver, lab.service);
  } catch (error) {
    unsettled = (error as Error).message.split('\n')[0];
    say(`the lab is not in its predicted steady state: ${(error as Error).message}`);
  }
  const stage = stageOf(driver.model);
  for (const check of checks.filter((c) => !options.only || c.id.startsWith(options.only))) {
    const at = builtAt(check.id);
    if (!builtBy(stage, at)) {
      const detail = `not built yet: the lab is built up to ${stage}, ${check.id} grades what ${at} adds`;
      results.push({ id: check.id, title: check.title, status: 'not-built', pass: false, detail });
      say(`later ${check.id.padEnd(24)} ${''.padStart(8)}  ${detail}`);
      continue;
    }
    const reason = check.notApplicable(lab);
    if (reason) {
      results.push({ id: check.id, title: check.title, status: 'not-applicable', pass: false, detail: `not applicable: ${reason}` });
      say(`n/a   ${check.id.padEnd(24)} ${''.padStart(8)}  ${reason}`);
      continue;
    }
    if (unsettled !== null && !check.readsOnly) {
      const detail = `not run: the lab is not in its predicted steady state (${unsettled})`;
      results.push({ id: check.id, title: check.title, status: 'fail', pass: false, detail });
      say(`FAIL  ${check.id.padEnd(24)} ${''.padStart(8)}  ${detail}`);
      continue;
    }
    const f = new Findings();
    const started = driver.now();
    try {
      check.run(driver, lab, f);
    } catch (error) {
      f.problems.push((error as Error).message);
      try {
        settle(driver, lab.service);
      } catch (again) {
        f.problems.push(`the lab did not settle afterwards: ${(again as Error).message}`);
      }
    }
    const pass = f.problems.length === 0;
    const result: CheckResult = {
      id: check.id,
      title: check.title,
      status: pass ? 'pass' : 'fail',
      pass,
      detail: [...f.problems, ...f.notes].join('; '),
      figures: Object.keys(f.figures).length ? f.figures : undefined,
    };
    results.push(result);
    say(`${pass ? 'pass' : 'FAIL'}  ${check.id.padEnd(24)} ${seconds(driver.now() - started).padStart(8)}  ${result.detail}`);
  }
  return { ok: results.every((c) => c.status !== 'fail'), target: driver.name, lab: driver.model.name, stage, checks: results };
}

/** One line for people: how many checks passed, failed, and did not apply. */
export function checkSummary(report: CheckReport): string {
  const count = (status: CheckStatus) => report.checks.filter((c) => c.status === status).length;
  const na = count('not-applicable');
  const later = count('not-built');
  return `${count('pass')} passed, ${count('fail')} failed${na ? `, ${na} not applicable` : ''}${later ? `, ${later} not built yet (stage ${report.stage})` : ''} on the ${report.target} of ${report.lab}`;
}
