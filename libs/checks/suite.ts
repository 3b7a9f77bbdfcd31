// The handout's checkpoints (cp1–cp4), the security property (sec) and fault drills (drill),
// written once against the Driver interface so they grade the twin and a Vagrant lab alike.
import { createHash } from 'crypto';
import type { ContainerModel, LabModel, VmModel, VrrpGroupModel, VrrpMemberModel, VxlanModel } from '../model/types';
import { bigPage } from '../render';
import { userPathToRoot } from '../model/paths';
import { serviceBackend, serviceUrl } from '../twin/twin';
import type { Driver } from './driver';
import { get, holdsWithin, pause, serversSeen, stpDiff, vipHolders, waitForTree, waitUntil } from './observe';
import { outageOf, Probe } from './probe';

export interface CheckResult {
  id: string;
  title: string;
  pass: boolean;
  detail: string;
  figures?: Record<string, number>;
}

export interface CheckReport {
  ok: boolean;
  target: string;
  lab: string;
  checks: CheckResult[];
}

/** What the checks need to know about the lab, derived once from the model. */
export interface Roles {
  model: LabModel;
  url: string;
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

export function rolesOf(model: LabModel): Roles {
  const url = serviceUrl(model);
  const group = model.vrrp[0];
  if (!url || !group || group.members.length < 2) throw new Error('the checks need a VRRP group of two or more balancers and a haproxy frontend');
  const master = group.members.find((m) => m.container === group.master)!;
  const backup = [...group.members].filter((m) => m !== master).sort((a, b) => b.priority - a.priority)[0];
  const containerOf = (name: string) => model.containers.find((c) => c.name === name)!;
  const masterC = containerOf(master.container);
  const backend = serviceBackend(model)!;
  const inner = (c: ContainerModel) => c.nics.find((n) => n.subnet !== group.subnet);
  return {
    model,
    url,
    users: model.vms.filter((v) => v.kind === 'user').map((v) => v.name),
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
 * Waits for the lab's steady state: the predicted tree, the master alone holding the VIP, every
 * user served through the master, and every server answering through it. Answers through another
 * balancer do not count: after a fault its health checks may still hold servers down.
 */
export function settle(driver: Driver, r: Roles): void {
  waitForTree(driver, {});
  const master = r.master.container;
  waitUntil(driver, `${master} alone holding ${r.group.vip}`, 30_000, () => vipHolders(driver, r.group).join() === master, 100);
  for (const user of r.users) waitUntil(driver, `${user} served through ${master}`, 30_000, () => get(driver, user, r.url).balancer === master, 100);
  const seen = new Set<string>();
  waitUntil(driver, `answers from ${r.servers.join(', ')} through ${master}`, 60_000, () => {
    const a = get(driver, r.users[0], r.url);
    if (a.server && a.balancer === master) seen.add(a.server);
    return r.servers.every((s) => seen.has(s));
  }, 100);
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
  run: (driver: Driver, r: Roles, f: Findings) => void;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Runs `body` with a fault in place and always heals it, then waits for the steady state. */
function withFault(driver: Driver, r: Roles, targets: string[], body: () => void): void {
  try {
    for (const t of targets) driver.fault(t, 'down');
    body();
  } finally {
    for (const t of [...targets].reverse()) driver.fault(t, 'up');
    settle(driver, r);
  }
}

function interSwitchLinks(model: LabModel) {
  return model.links.filter((l) => l.ends.every((e) => e.bridge && model.bridges.find((b) => b.name === e.bridge)!.stp));
}

export const checks: Check[] = [
  {
    id: 'cp1.stp-on',
    title: 'STP runs on every bridge of the external network',
    run: (driver, r, f) => {
      for (const b of r.model.bridges.filter((x) => x.stp)) {
        const state = driver.exec(b.vm, `cat /sys/class/net/${b.name}/bridge/stp_state`).stdout.trim();
        f.expect(state === '1', `${b.name}: stp_state ${state || 'absent'}`);
      }
    },
  },
  {
    id: 'cp1.root',
    title: 'every bridge agrees on the predicted root',
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
    title: 'every port is in the predicted state',
    run: (driver, r, f) => {
      const diff = stpDiff(driver, r.model.spanningTree.ports);
      f.expect(diff.length === 0, `differs: ${diff.join(', ')}`);
      f.note(`blocked: ${r.model.spanningTree.blocked.map((p) => `${p.bridge}/${p.ifname}`).join(', ') || 'none'}`);
    },
  },
  {
    id: 'cp1.link-failures',
    title: 'after each inter-switch link failure the tree re-converges as predicted and users keep the service',
    run: (driver, r, f) => {
      for (const link of interSwitchLinks(r.model)) {
        withFault(driver, r, [link.id], () => {
          const ms = waitForTree(driver, { downSegments: [link.id] });
          f.figures[`${link.id}_converge_ms`] = ms;
          for (const user of r.users) {
            const ok = holdsWithin(driver, 5000, () => get(driver, user, r.url, 1).ok, 100);
            f.expect(ok, `${link.id} down: ${user} lost the service`);
          }
          f.note(`${link.id} down: converged in ${seconds(ms)}`);
        });
      }
    },
  },
  {
    id: 'cp2.roles',
    title: 'the highest priority balancer is master, the others backup',
    run: (driver, r, f) => {
      const holders = vipHolders(driver, r.group);
      f.expect(holders.join() === r.master.container, `VIP ${r.group.vip} held by ${holders.join(', ') || 'nobody'}, expected ${r.master.container}`);
    },
  },
  {
    id: 'cp2.failover',
    title: `the backup takes the VIP when the master loses the external network, in about the VRRP master-down interval`,
    run: (driver, r, f) => {
      const predictedMs = r.backup.masterDownInterval * 1000;
      const safe = r.users.filter((u) => !pathUses(r, u, r.masterBridge));
      const probes = safe.map((u) => new Probe(driver, u, r.url));
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
        f.note(`${r.masterBridge} down: ${r.backup.container} master after ${seconds(ms)} (formula ${seconds(predictedMs)})`);
      });
    },
  },
  {
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
      const masterMac = r.group.vipMac ?? r.masterC.nics.find((n) => n.ifname === r.master.ifname)!.mac;
      for (const user of r.users) {
        let answer = get(driver, user, r.url, 1);
        holdsWithin(driver, 3000, () => (answer = get(driver, user, r.url, 1)).balancer === r.master.container, 100);
        f.expect(answer.balancer === r.master.container, `${user}: ${answer.ok ? `served by ${answer.balancer}` : 'no service'}, 3 s after the takeback`);
        const arp = driver.exec(user, `ip neigh show ${r.group.vip}`).stdout;
        f.expect(!arp.includes('lladdr') || arp.includes(masterMac), `${user}: ARP for ${r.group.vip} is stale: ${arp.trim()}`);
      }
      settle(driver, r);
    },
  },
  {
    id: 'cp3.vxlan-cut',
    title: 'with the VXLAN cut, the master rotates over its own side and shows its inner address as client',
    run: (driver, r, f) => {
      if (!r.segment) return f.note('no VXLAN in this lab');
      const mine = r.sameSide(r.masterC);
      const inner = r.masterC.nics.find((n) => n.subnet !== r.group.subnet)!.address;
      withFault(driver, r, [r.segment.name], () => {
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
  },
  {
    id: 'cp3.backup-serves',
    title: 'with the backup as master (VXLAN cut), every answer comes from its own side',
    run: (driver, r, f) => {
      if (!r.segment) return f.note('no VXLAN in this lab');
      const theirs = r.sameSide(r.backupC);
      withFault(driver, r, [r.segment.name, `${r.master.container}:keepalived`], () => {
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
  },
  {
    id: 'cp4.internal',
    title: 'every internal address reaches every other one',
    run: (driver, r, f) => {
      const subnet = r.masterC.nics.find((n) => n.subnet !== r.group.subnet)!.subnet;
      const members = r.model.containers.flatMap((c) => c.nics.filter((n) => n.subnet === subnet).map((n) => ({ c: c.name, address: n.address })));
      for (const from of members) {
        const targets = members.filter((m) => m !== from).map((m) => m.address);
        const out = driver.exec(from.c, targets.map((a) => `ping -c 1 -W 1 ${a} >/dev/null 2>&1 && echo "${a} ok" || echo "${a} fail"`).join('; ')).stdout;
        for (const a of targets) f.expect(out.includes(`${a} ok`), `${from.c} cannot reach ${a}`);
      }
      f.note(`${members.length} addresses, ${members.length * (members.length - 1)} pings`);
    },
  },
  {
    id: 'cp4.rotation',
    title: 'the master spreads requests over every server',
    run: (driver, r, f) => {
      const answers = serversSeen(driver, r.users[0], r.url, r.servers.length * 2);
      const seen = [...new Set(answers.map((a) => a.server))].sort();
      f.expect(seen.join() === [...r.servers].sort().join(), `answers from ${seen.join(', ')}, expected ${r.servers.join(', ')}`);
      const others = answers.filter((a) => a.balancer !== r.master.container);
      f.expect(others.length === 0, `${others.length} of ${answers.length} answers not through ${r.master.container}`);
      // Who answered, and through which balancer when it was not the master.
      f.note(answers.map((a) => (a.balancer === r.master.container ? a.server : `${a.server ?? 'no answer'}@${a.balancer ?? '?'}`)).join(' → '));
    },
  },
  {
    id: 'cp4.large',
    title: 'a response of more than 1 MB crosses the VXLAN intact',
    run: (driver, r, f) => {
      if (!r.segment) return f.note('no VXLAN in this lab');
      const far = r.servers.find((s) => !r.sameSide(r.masterC).includes(s));
      if (!far) return f.note('every server is on the master side');
      const address = r.model.haproxy!.backends.flatMap((b) => b.servers).find((s) => s.name === far)!.address;
      const expected = sha256(bigPage.line.repeat(bigPage.lines));
      const out = driver.exec(r.master.container, `curl -sf -m 10 http://${address}/big.php | sha256sum`).stdout.split(' ')[0];
      f.expect(out === expected, `${r.master.container} ← ${far}: sha256 ${out || 'none'}, expected ${expected}`);
      f.figures.bytes = bigPage.line.length * bigPage.lines;
      f.note(`${f.figures.bytes} bytes from ${far} to ${r.master.container}, MTU ${r.segment.mtu} inside the tunnel`);
    },
  },
  {
    id: 'sec.no-internal-access',
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
  },
  {
    id: 'sec.no-forwarding',
    title: 'balancers forward no packets',
    run: (driver, r, f) => {
      for (const m of r.group.members) {
        const value = driver.exec(m.container, 'cat /proc/sys/net/ipv4/ip_forward').stdout.trim();
        f.expect(value === '0', `${m.container}: ip_forward = ${value}`);
      }
    },
  },
  {
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
  },
  {
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
  },
  {
    id: 'drill.switch-down',
    title: 'a switch down: users on the other switches keep the service',
    run: (driver, r, f) => {
      const lost = switchToLose(r);
      if (!lost) return f.note('no switch that is not the root');
      const { sw, others } = lost;
      const probes = others.map((u) => new Probe(driver, u, r.url));
      withFault(driver, r, [sw.name], () => {
        // The switch VM is off: its bridge is gone and its links have no carrier.
        waitForTree(driver, { downBridges: [sw.name], downSegments: r.model.links.filter((l) => l.ends.some((e) => e.vm === sw.name)).map((l) => l.id) });
        for (const [i, p] of probes.entries()) {
          const o = outageOf(p.stop());
          f.figures[`${others[i]}_failed`] = o.failed;
          f.expect(o.failed === 0, `${others[i]}: ${o.failed} requests failed`);
        }
        f.note(`${sw.name} down: ${others.join(', ')} kept the service`);
      });
    },
  },
  {
    id: 'drill.vxlan-cut',
    title: 'the VXLAN cut and restored: the service continues, the far servers come back',
    run: (driver, r, f) => {
      if (!r.segment) return f.note('no VXLAN in this lab');
      const probe = new Probe(driver, r.users[0], r.url);
      withFault(driver, r, [r.segment.name], () => {
        pause((r.check.fall + 1) * r.check.inter + 1000);
        const o = outageOf(probe.stop());
        f.figures.outage_ms = o.outageMs;
        f.figures.failed_requests = o.failed;
        f.expect(get(driver, r.users[0], r.url).ok, 'no service with the VXLAN cut');
        f.note(`cut: outage ${seconds(o.outageMs)}, ${o.failed} failed requests (health checks: ${r.check.fall} × ${r.check.inter} ms)`);
      });
      // settle() after the heal waited for answers from every server again.
    },
  },
];

/** A switch that is not the root, and the users not attached to it (who must keep the service when it fails). */
export function switchToLose(r: Roles): { sw: VmModel; others: string[] } | undefined {
  const sw = r.model.vms.find((v) => v.kind === 'switch' && !r.model.spanningTree.domains.some((d) => d.root === v.name));
  if (!sw) return undefined;
  const others = r.users.filter((u) => !r.model.links.some((l) => l.ends.some((e) => e.vm === u) && l.ends.some((e) => e.vm === sw.name)));
  return { sw, others };
}

/** True when a user's frames to the root bridge pass through `bridge`. */
function pathUses(r: Roles, user: string, bridge: string): boolean {
  return userPathToRoot(r.model, user).includes(bridge);
}

export function runChecks(driver: Driver, options: { only?: string; say?: (line: string) => void } = {}): CheckReport {
  const r = rolesOf(driver.model);
  const say = options.say ?? (() => undefined);
  const results: CheckResult[] = [];
  settle(driver, r);
  for (const check of checks.filter((c) => !options.only || c.id.startsWith(options.only))) {
    const f = new Findings();
    const started = driver.now();
    try {
      check.run(driver, r, f);
    } catch (error) {
      f.problems.push((error as Error).message);
      try {
        settle(driver, r);
      } catch (again) {
        f.problems.push(`the lab did not settle afterwards: ${(again as Error).message}`);
      }
    }
    const result: CheckResult = {
      id: check.id,
      title: check.title,
      pass: f.problems.length === 0,
      detail: [...f.problems, ...f.notes].join('; '),
      figures: Object.keys(f.figures).length ? f.figures : undefined,
    };
    results.push(result);
    say(`${result.pass ? 'pass' : 'FAIL'}  ${check.id.padEnd(24)} ${seconds(driver.now() - started).padStart(8)}  ${result.detail}`);
  }
  return { ok: results.every((c) => c.pass), target: driver.name, lab: driver.model.name, checks: results };
}

