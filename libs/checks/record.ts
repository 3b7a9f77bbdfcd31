// `lab bench --record`: one drill run as a timeline on one clock (faults as the bench made them,
// the recorder's LiveLab events, the probes' requests, VRRP adverts and gratuitous ARPs read from
// the pcap), the theory's bounds as bands, and a few sentences computed from it. Pure: the
// files are read and written by tools/cli-record.ts, the plot drawn by record-plot.ts.
import type { FaultAction } from '../model/fault-target';
import type { LabModel } from '../model/types';
import { stateKinds, type LiveEvent } from '../observe/live';
import { outageOf, type Sample } from '../observe/probe';
import type { DrillRun } from './bench';
import { rolesOf, seconds } from './suite';

export type TimelineKind = 'fault' | 'stp' | 'root' | 'link' | 'vip' | 'daemon' | 'server' | 'advert' | 'garp';

export interface TimelineEvent {
  /** ms since the epoch. */
  t: number;
  kind: TimelineKind;
  key: string;
  value: unknown;
  text: string;
  /** A fault: when the driver's call returned (`t` is when it was made). */
  until?: number;
}

export interface Band {
  name: string;
  from: number;
  to: number;
}

export interface Timeline {
  lab: string;
  profile: string;
  drill: string;
  title: string;
  run: number;
  /** The run, from leadMs before the drill's start (the steady state before) to its end (before the bench heals everything). */
  window: { start: number; end: number };
  /** The moment the drill's story starts from (its fault; for partition-heal, the heal): every relative figure counts from here. */
  zero: number;
  theory: { ms: number; text: string };
  bands: Band[];
  outage: { ms: number; failed: number; requests: number };
  probes: Array<{ user: string; samples: Sample[] }>;
  events: TimelineEvent[];
}

export interface FaultRecord {
  /** When the driver was asked. */
  t: number;
  /** When its call returned: the fault took effect in between. */
  done: number;
  target: string;
  action: FaultAction;
}

/** A packet of the recording's pcap that tells part of the story, as tshark's fields print it. */
export interface PacketEvent {
  t: number;
  kind: 'advert' | 'garp';
  /** The sender's IPv4 address. */
  source: string;
  /** VRRP: the advertised priority; gratuitous ARP: the address announced. */
  detail: string;
}

/** The tshark field list parsePackets reads (`-T fields -E separator=/t`). */
export const tsharkFields = ['frame.time_epoch', 'vrrp.prio', 'ip.src', 'arp.isgratuitous', 'arp.src.proto_ipv4'];
export const tsharkDisplayFilter = 'vrrp or arp.isgratuitous == 1';

/** tshark's tab-separated fields (tsharkFields, in that order) as adverts and gratuitous ARPs. */
export function parsePackets(text: string): PacketEvent[] {
  const packets: PacketEvent[] = [];
  for (const line of text.split('\n')) {
    const [time, prio, ipSrc, gratuitous, arpSrc] = line.split('\t');
    const t = Math.round(Number(time) * 1000);
    if (!Number.isFinite(t) || !time) continue;
    if (prio && ipSrc) packets.push({ t, kind: 'advert', source: ipSrc, detail: prio });
    else if (arpSrc && (gratuitous === '1' || gratuitous === 'True')) packets.push({ t, kind: 'garp', source: arpSrc, detail: arpSrc });
  }
  return packets;
}

/** Who owns an address in the model (a VRRP member, or the VIP's group). */
function ownerOf(model: LabModel, address: string): string {
  for (const g of model.vrrp) {
    if (g.vip === address) return `VIP ${address}`;
    const m = g.members.find((x) => x.address === address);
    if (m) return m.container;
  }
  return address;
}

/** The drill's zero: the heal for partition-heal (its outage follows the return), else its first fault. */
function zeroOf(drill: string, faults: FaultRecord[], fallback: number): number {
  const pick = drill === 'partition-heal' ? faults.filter((f) => f.action === 'up').pop() : faults.find((f) => f.action !== 'up');
  return pick?.t ?? fallback;
}

/**
 * The backup's takeover and the master's last advert before it: the master-down interval counts
 * from that advert. The takeover is the backup's first advert after the fault (a backup is
 * silent; it advertises the moment it becomes master, stamped by the kernel in the pcap), else
 * the VIP seen on it.
 */
export function takeoverOf(model: LabModel, events: TimelineEvent[], zero: number): { takeover?: TimelineEvent; lastAdvert?: TimelineEvent } {
  const r = rolesOf(model);
  const takeover =
    events.find((e) => e.kind === 'advert' && e.t >= zero && e.key === r.backup.container) ??
    events.find((e) => e.kind === 'vip' && e.t >= zero && holders(e).includes(r.backup.container));
  const lastAdvert = events.filter((e) => e.kind === 'advert' && e.key === r.master.container && e.t <= (takeover?.t ?? Infinity)).pop();
  return { takeover, lastAdvert };
}

/** The theory's bounds for a drill: from its zero, and the master-down interval from the master's last advert. */
export function bandsOf(model: LabModel, drill: string, zero: number, theory: { ms: number; text: string }, events: TimelineEvent[] = []): Band[] {
  const r = rolesOf(model);
  const mdi = r.backup.masterDownInterval * 1000;
  const fd2 = 2 * model.stp.forwardDelay * 1000;
  const health = r.check.fall * r.check.inter;
  const bands: Band[] = [];
  const add = (name: string, ms: number, from = zero) => {
    if (ms > 0 && !bands.some((b) => b.to - b.from === ms)) bands.push({ name, from, to: from + ms });
  };
  if (drill.startsWith('balancer-loss')) add(`master-down interval ${seconds(mdi)} (from the last advert)`, mdi, takeoverOf(model, events, zero).lastAdvert?.t ?? zero);
  if (drill === 'server-loss' || drill === 'vxlan-cut') add(`fall × inter ${seconds(health)}`, health);
  if (['active-link-loss', 'backup-link-loss', 'switch-loss', 'partition-heal'].includes(drill)) add(`2 × forward delay ${seconds(fd2)}`, fd2);
  add(`theory ${seconds(theory.ms)}`, Math.round(theory.ms));
  return bands;
}

/** How much of the steady state before a run its timeline keeps (a few adverts, BPDUs). */
export const leadMs = 2000;

/** One run's timeline from what the bench, the recorder and the pcap saw, each on the same clock. */
export function buildTimeline(input: {
  model: LabModel;
  profile: string;
  run: DrillRun;
  faults: FaultRecord[];
  live: LiveEvent[];
  packets: PacketEvent[];
}): Timeline {
  const { model, run } = input;
  const start = run.start - leadMs;
  // Half-open: the bench's healing starts the very millisecond the run ends.
  const inWindow = (t: number) => t >= start && t < run.end;
  // Faults from the run only: the lead would otherwise show the previous run's healing.
  const faults = input.faults.filter((f) => f.t >= run.start && f.t < run.end);
  const zero = zeroOf(run.drill, faults, run.start);
  const events: TimelineEvent[] = [
    ...faults.map((f) => ({ t: f.t, kind: 'fault' as const, key: f.target, value: f.action, text: `fault: ${f.target} ${f.action}`, until: f.done })),
    ...input.live
      .filter((e) => (stateKinds as string[]).includes(e.kind) && inWindow(e.t))
      .map((e) => ({ t: e.t, kind: e.kind as TimelineKind, key: e.key, value: e.value, text: e.text })),
    ...input.packets
      .filter((p) => inWindow(p.t))
      .map((p) =>
        p.kind === 'advert'
          ? { t: p.t, kind: 'advert' as const, key: ownerOf(model, p.source), value: Number(p.detail), text: `VRRP advert from ${ownerOf(model, p.source)} (priority ${p.detail})` }
          : { t: p.t, kind: 'garp' as const, key: p.detail, value: ownerOf(model, p.detail), text: `gratuitous ARP for ${p.detail}` },
      ),
  ];
  // Stable: by time, then by kind and key, so the same recording gives the same file.
  events.sort((a, b) => a.t - b.t || a.kind.localeCompare(b.kind) || a.key.localeCompare(b.key));
  const probes = (run.outage.probes ?? []).map((p) => ({ user: p.user, samples: p.samples }));
  return {
    lab: model.name,
    profile: input.profile,
    drill: run.drill,
    title: run.title,
    run: run.run,
    window: { start, end: run.end },
    zero,
    theory: { ms: Math.round(run.theory.ms), text: run.theory.text },
    bands: bandsOf(model, run.drill, zero, run.theory, events),
    outage: { ms: run.outage.outageMs, failed: run.outage.failed, requests: run.outage.requests },
    probes,
    events,
  };
}

/** "3.41 s": the explanation's and the plot's one way to write a duration. */
/** "60 ms" below a second, else seconds. */
export const duration = (ms: number) => (Math.abs(ms) < 1000 ? `${Math.round(ms)} ms` : seconds(ms));

const holders = (e: TimelineEvent) => (Array.isArray(e.value) ? (e.value as string[]) : []);

/** The first request that succeeded after t, among every probe. */
function firstOkAfter(t: Timeline, after: number): Sample | undefined {
  return t.probes
    .flatMap((p) => p.samples)
    .filter((s) => s.ok && s.t > after)
    .sort((a, b) => a.t - b.t)[0];
}

function outageSentence(t: Timeline): string {
  const worst = t.probes.map((p) => ({ user: p.user, ...outageOf(p.samples) })).sort((a, b) => b.outageMs - a.outageMs || b.failed - a.failed)[0];
  const requests = t.probes.reduce((n, p) => n + p.samples.length, 0);
  if (!worst || worst.failed === 0) return `No request failed (${requests} requests from ${t.probes.map((p) => p.user).join(', ')}).`;
  return `${worst.user} saw an outage of ${duration(worst.outageMs)} (${worst.failed} failed ${worst.failed === 1 ? 'request' : 'requests'}); theory: ${duration(t.theory.ms)} (${t.theory.text}).`;
}

/** A few sentences about the run, every figure computed from the timeline. */
export function explain(t: Timeline, model: LabModel): string {
  const r = rolesOf(model);
  const after = (e: TimelineEvent) => e.t >= t.zero;
  const sentences: string[] = [];
  if (t.drill.startsWith('balancer-loss')) {
    const master = r.master.container;
    const backup = r.backup.container;
    const mdi = r.backup.masterDownInterval * 1000;
    const { takeover, lastAdvert } = takeoverOf(model, t.events, t.zero);
    if (takeover) {
      const ok = firstOkAfter(t, takeover.t);
      const masterAdverts = t.events.filter((e) => e.kind === 'advert' && e.key === master);
      const beforeFault = masterAdverts.filter((e) => e.t <= t.zero).pop();
      // The fault is a few commands: the master may still advertise while they run.
      const late = masterAdverts.filter((e) => e.t > t.zero && e.t <= takeover.t);
      const stillSent = late.length ? `; ${master} still sent ${late.length === 1 ? 'one advert' : `${late.length} adverts`} while it took effect, the last ${seconds(late[late.length - 1].t - t.zero)} into it` : '';
      const fell = beforeFault ? `, the fault fell ${seconds(t.zero - beforeFault.t)} after an advert${stillSent}` : '';
      const since = lastAdvert
        ? `${seconds(takeover.t - lastAdvert.t)} after ${master}'s last advert (master-down interval ${seconds(mdi)}${fell})`
        : `${seconds(takeover.t - t.zero)} after the fault (master-down interval ${seconds(mdi)}; no advert of ${master} was captured)`;
      const vipSeen = t.events.find((e) => e.kind === 'vip' && e.t >= t.zero && holders(e).includes(backup));
      sentences.push(`${backup} became master ${since}${ok ? `; first successful request ${duration(ok.t - takeover.t)} later` : '; no request succeeded after it'}.`);
      if (vipSeen) sentences.push(`The VIP was seen on ${backup} ${seconds(vipSeen.t - t.zero)} after the fault.`);
    } else sentences.push(`${backup} was not seen taking the VIP within the run.`);
  } else if (t.drill === 'partition-heal') {
    const master = r.master.container;
    const back = t.events.find((e) => e.kind === 'vip' && after(e) && holders(e).join() === master);
    const ports = t.events.filter((e) => e.kind === 'stp' && after(e) && e.value === 'forwarding');
    const fd2 = 2 * model.stp.forwardDelay * 1000;
    const parts = [`${r.masterBridge} came back`];
    if (back) parts.push(`${master} alone held the VIP again ${seconds(back.t - t.zero)} later`);
    if (ports.length) parts.push(`the last returning port forwarded after ${seconds(ports[ports.length - 1].t - t.zero)} (2 × forward delay ${seconds(fd2)})`);
    sentences.push(`${parts.join('; ')}.`);
  } else if (t.drill === 'server-loss' || t.drill === 'vxlan-cut') {
    const downs = t.events.filter((e) => e.kind === 'server' && after(e) && e.value === false);
    const health = r.check.fall * r.check.inter;
    if (downs.length) {
      const first = downs[0];
      sentences.push(`haproxy on ${first.key.split('/')[0]} marked ${first.key.split('/').pop()} DOWN ${seconds(first.t - t.zero)} after the fault (fall × inter ${seconds(health)})${downs.length > 1 ? `; ${downs.length} server verdicts went DOWN in all` : ''}.`);
    } else sentences.push('haproxy marked no server DOWN within the run.');
  } else {
    const changes = t.events.filter((e) => e.kind === 'stp' && after(e));
    const fd2 = 2 * model.stp.forwardDelay * 1000;
    if (changes.length) {
      const last = changes[changes.length - 1];
      sentences.push(`${changes.length} STP port state changes followed the fault; the last (${last.key} ${String(last.value)}) came ${seconds(last.t - t.zero)} after it (2 × forward delay ${seconds(fd2)}).`);
    } else sentences.push('No STP port changed state after the fault.');
  }
  sentences.push(outageSentence(t));
  return sentences.join(' ');
}
