// The lab's live state and every change to it as a timestamped event, through any driver: from
// the target's own notifications when it has them (the twin: kernel, /proc, haproxy's log), else
// by reading the whole state every pollMs (Vagrant). The view is built on this; so could the
// checks be.
import { faultActions, faultTarget, faultTargetNames, type FaultAction } from '../model/fault-target';
import { haproxySocket, serviceUrl } from '../model/service';
import type { LabModel } from '../model/types';
import type { Driver } from '../targets/driver';
import { haproxyStateCommand, parseLinkMonitor, parseServersState, type LineStream, type TargetEvent, type Watch } from '../targets/events';
import { readStp } from '../targets/kernel-stp';
import { vipHolders } from './observe';

/** Every piece of live state, each a map from a key to a value; an event sets one key. */
export interface LiveSnapshot {
  /** `bridge/port` → the kernel's port state (forwarding, blocking, listening, learning, disabled, absent). */
  stp: Record<string, string>;
  /** STP bridge → the bridge it takes for root (null when unreadable). */
  root: Record<string, string | null>;
  /** `node/ifname` → up with carrier. */
  link: Record<string, boolean>;
  /** VRRP group → the members holding its VIP (two: split brain). */
  vip: Record<string, string[]>;
  /** `container:service` → running. */
  daemon: Record<string, boolean>;
  /** `balancer/backend/server` → haproxy's verdict (true UP), null when the target cannot read it. */
  server: Record<string, boolean | null>;
}
export type StateKind = keyof LiveSnapshot;

export interface RequestResult {
  user: string;
  ok: boolean;
  server?: string;
  balancer?: string;
}

export type LiveEvent =
  | { seq: number; t: number; kind: StateKind; key: string; value: unknown; text: string }
  | { seq: number; t: number; kind: 'fault'; key: string; value: FaultAction; text: string }
  | { seq: number; t: number; kind: 'request'; key: string; value: RequestResult; text: string };

export class BadRequest extends Error {}

export const stateKinds: StateKind[] = ['stp', 'root', 'link', 'vip', 'daemon', 'server'];
/** The timeline keeps this many events at most; the oldest requests go first. */
const maxEvents = 100_000;

/** The interfaces of the model whose up/down the view shows: VM NICs, bridges, VXLAN devices. */
function watchedInterfaces(model: LabModel): Set<string> {
  const keys = new Set<string>();
  for (const vm of model.vms) {
    for (const nic of vm.nics) keys.add(`${vm.name}/${nic.ifname}`);
    for (const b of vm.bridges) keys.add(`${vm.name}/${b}`);
  }
  for (const x of model.vxlan) for (const m of x.members) keys.add(`${m.vm}/${m.ifname}`);
  return keys;
}

/** Each STP bridge's root as the kernel sees it (/sys/class/net/<bridge>/bridge/root_id), one command per VM. */
function readRoots(driver: Driver, vms?: Set<string>): Record<string, string | null> {
  const { model } = driver;
  const byId = new Map(model.bridges.map((b) => [b.bridgeId.toLowerCase(), b.name]));
  const roots: Record<string, string | null> = {};
  const stpBridges = model.bridges.filter((b) => b.stp && (!vms || vms.has(b.vm)));
  for (const vm of new Set(stpBridges.map((b) => b.vm))) {
    const names = stpBridges.filter((b) => b.vm === vm).map((b) => b.name);
    const out = driver.exec(vm, names.map((b) => `echo ${b} $(cat /sys/class/net/${b}/bridge/root_id 2>/dev/null)`).join('; ')).stdout;
    for (const line of out.split('\n').filter(Boolean)) {
      const [bridge, id] = line.split(' ');
      roots[bridge] = id ? (byId.get(id.toLowerCase()) ?? id) : null;
    }
  }
  return roots;
}

function readLinks(driver: Driver): Record<string, boolean> {
  const watched = watchedInterfaces(driver.model);
  const links: Record<string, boolean> = {};
  for (const vm of driver.model.vms) {
    for (const line of driver.exec(vm.name, 'ip -o link show').stdout.split('\n')) {
      const l = parseLinkMonitor(line);
      if (l && watched.has(`${vm.name}/${l.ifname}`)) links[`${vm.name}/${l.ifname}`] = l.up;
    }
  }
  return links;
}

function readDaemons(driver: Driver): Record<string, boolean> {
  const daemons: Record<string, boolean> = {};
  for (const c of driver.model.containers) {
    if (c.services.length === 0) continue;
    const r = driver.exec(c.name, `for s in ${c.services.join(' ')}; do pidof $s >/dev/null && echo $s; done; true`);
    const running = new Set(r.stdout.split('\n').filter(Boolean));
    for (const s of c.services) daemons[`${c.name}:${s}`] = r.status === 0 && running.has(s);
  }
  return daemons;
}

/**
 * haproxy's own verdict on each server, from its runtime socket through the driver's exec (the
 * same command on the twin and on Vagrant); null for the servers of a balancer whose haproxy does
 * not answer (stopped). The source of truth: the twin's log lines only bring changes sooner.
 */
function readServers(driver: Driver): Record<string, boolean | null> {
  const servers: Record<string, boolean | null> = {};
  const h = driver.model.haproxy;
  if (!h) return servers;
  for (const balancer of h.balancers) {
    const verdicts = parseServersState(driver.exec(balancer, haproxyStateCommand(haproxySocket)).stdout);
    for (const b of h.backends) for (const s of b.servers) servers[`${balancer}/${b.name}/${s.name}`] = verdicts?.get(`${b.name}/${s.name}`) ?? null;
  }
  return servers;
}

/** The whole live state, read through the driver's exec. */
export function readSnapshot(driver: Driver): LiveSnapshot {
  const { model } = driver;
  return {
    stp: Object.fromEntries(readStp(driver)),
    root: readRoots(driver),
    link: readLinks(driver),
    vip: Object.fromEntries(model.vrrp.map((g) => [g.name, vipHolders(driver, g)])),
    daemon: readDaemons(driver),
    server: readServers(driver),
  };
}

const show = (value: unknown) => (Array.isArray(value) ? (value.length ? value.join(' + ') : 'nobody') : value === true ? 'up' : value === false ? 'down' : String(value));

export class LiveLab {
  readonly events: LiveEvent[] = [];
  readonly started: number;
  readonly initial: LiveSnapshot;
  private readonly state: LiveSnapshot;
  private readonly listeners = new Set<(e: LiveEvent) => void>();
  private seq = 0;
  private watch: Watch | null = null;
  private poller: NodeJS.Timeout | null = null;
  private rootTimer: NodeJS.Timeout | null = null;
  private readonly rootVms = new Set<string>();
  /** Addresses per VRRP member, to know the VIP's holders from address notifications. */
  private readonly addresses = new Map<string, Set<string>>();
  private requests: LineStream[] = [];

  constructor(readonly driver: Driver, options: { pollMs?: number } = {}) {
    this.started = driver.now();
    this.initial = readSnapshot(driver);
    this.state = structuredClone(this.initial);
    for (const g of driver.model.vrrp) {
      for (const m of g.members) {
        const out = driver.exec(m.container, 'ip -4 -o addr show').stdout;
        this.addresses.set(m.container, new Set([...out.matchAll(/ inet (\S+)\//g)].map((x) => x[1])));
      }
    }
    if (driver.watch) this.watch = driver.watch((e) => this.onTarget(e));
    else {
      const pollMs = options.pollMs ?? 2000;
      this.poller = setInterval(() => this.poll(), pollMs);
    }
  }

  get model(): LabModel {
    return this.driver.model;
  }

  snapshot(): LiveSnapshot {
    return structuredClone(this.state);
  }

  subscribe(listener: (e: LiveEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Ends notifications, polling and request loops. */
  stop(): void {
    this.watch?.stop();
    if (this.poller) clearInterval(this.poller);
    if (this.rootTimer) clearTimeout(this.rootTimer);
    this.stopRequests();
    this.listeners.clear();
  }

  private push(e: Omit<LiveEvent, 'seq'>): void {
    const event = { ...e, seq: ++this.seq } as LiveEvent;
    this.events.push(event);
    if (this.events.length > maxEvents) {
      const i = this.events.findIndex((x) => x.kind === 'request');
      this.events.splice(i >= 0 ? i : 0, 1);
    }
    for (const l of this.listeners) l(event);
  }

  /** Sets one piece of state; an event only when it changed. */
  private set(kind: StateKind, key: string, value: unknown, t: number): void {
    const map = this.state[kind] as Record<string, unknown>;
    if (JSON.stringify(map[key]) === JSON.stringify(value)) return;
    map[key] = value;
    this.push({ t, kind, key, value, text: `${kind} ${key}: ${show(value)}` });
  }

  private onTarget(e: TargetEvent): void {
    const { model } = this;
    switch (e.kind) {
      case 'stp-port':
        this.set('stp', `${e.bridge}/${e.port}`, e.state, e.t);
        this.rootVms.add(e.vm);
        // A port change may mean a new root: read the roots of this VM once the burst is over.
        if (this.rootTimer) clearTimeout(this.rootTimer);
        this.rootTimer = setTimeout(() => {
          const vms = new Set(this.rootVms);
          this.rootVms.clear();
          for (const [bridge, root] of Object.entries(readRoots(this.driver, vms))) this.set('root', bridge, root, Date.now());
        }, 150);
        return;
      case 'link':
        if (watchedInterfaces(model).has(`${e.node}/${e.ifname}`)) this.set('link', `${e.node}/${e.ifname}`, e.up, e.t);
        return;
      case 'address': {
        const set = this.addresses.get(e.node) ?? new Set<string>();
        this.addresses.set(e.node, set);
        if (e.present) set.add(e.address);
        else set.delete(e.address);
        for (const g of model.vrrp.filter((x) => x.members.some((m) => m.container === e.node))) {
          this.set('vip', g.name, g.members.filter((m) => this.addresses.get(m.container)?.has(g.vip)).map((m) => m.container), e.t);
        }
        return;
      }
      case 'daemon':
        this.set('daemon', `${e.container}:${e.service}`, e.running, e.t);
        // A haproxy that starts takes every server for UP until its checks say otherwise.
        if (e.service === 'haproxy' && e.running) {
          for (const key of Object.keys(this.state.server).filter((k) => k.startsWith(`${e.container}/`))) this.set('server', key, true, e.t);
        }
        return;
      case 'haproxy-server':
        this.set('server', `${e.balancer}/${e.backend}/${e.server}`, e.up, e.t);
        return;
    }
  }

  private poll(): void {
    const now = readSnapshot(this.driver);
    const t = this.driver.now();
    for (const kind of stateKinds) for (const [key, value] of Object.entries(now[kind])) this.set(kind, key, value, t);
  }

  /** A fault from the view: checked first, so a bad target changes nothing. */
  fault(target: unknown, action: unknown): string {
    if (typeof target !== 'string' || !faultTarget(this.model, target)) {
      throw new BadRequest(`unknown fault target ${JSON.stringify(target)}; targets: ${faultTargetNames(this.model).join(', ')}`);
    }
    if (typeof action !== 'string' || !(faultActions as readonly string[]).includes(action)) {
      throw new BadRequest(`unknown action ${JSON.stringify(action)}; actions: ${faultActions.join(', ')}`);
    }
    if (action === 'unplug' && faultTarget(this.model, target)!.kind !== 'link') throw new BadRequest(`unplug pulls a link's cable: ${target} is not a link (a:b)`);
    const t = this.driver.now();
    this.driver.fault(target, action as FaultAction);
    const text = `fault: ${target} ${action}`;
    this.push({ t, kind: 'fault', key: target, value: action as FaultAction, text });
    return text;
  }

  get requestsRunning(): boolean {
    return this.requests.length > 0;
  }

  /**
   * Starts a bounded probe loop on every user: a GET to the service every intervalMs (at most
   * maxRequests each, then the loop ends by itself), each answer an event naming the balancer and server.
   */
  startRequests(options: { intervalMs?: number; maxRequests?: number } = {}): void {
    const url = serviceUrl(this.model);
    if (!url) throw new BadRequest(`lab ${this.model.name} has no balanced service to send requests to`);
    if (!this.driver.stream) throw new BadRequest(`the ${this.driver.name} target cannot stream requests yet`);
    if (this.requests.length > 0) return;
    const interval = (options.intervalMs ?? 100) / 1000;
    const max = options.maxRequests ?? 6000;
    const loop = [
      'i=0',
      `while [ $i -lt ${max} ]; do`,
      '  t=$(date +%s%3N)',
      `  if out=$(curl -sf -m 0.5 ${url}); then echo "$t ok $(echo "$out" | grep -o 'server=[^ ]* \\|balancer=[^ ]*' | tr '\\n' ' ')"; else echo "$t fail"; fi`,
      `  sleep ${interval}`,
      '  i=$((i+1))',
      'done',
    ].join('\n');
    for (const user of this.model.vms.filter((v) => v.kind === 'user').map((v) => v.name)) {
      this.requests.push(this.driver.stream(user, loop, (line) => {
        const m = /^(\d+) (ok|fail)(.*)$/.exec(line.trim());
        if (!m) return;
        const field = (name: string) => new RegExp(`${name}=(\\S+)`).exec(m[3])?.[1];
        const value: RequestResult = { user, ok: m[2] === 'ok', server: field('server'), balancer: field('balancer') };
        this.push({ t: Number(m[1]), kind: 'request', key: user, value, text: `${user}: ${value.ok ? `${value.balancer} → ${value.server}` : 'failed'}` });
      }));
    }
  }

  stopRequests(): void {
    for (const r of this.requests) r.stop();
    this.requests = [];
  }
}
