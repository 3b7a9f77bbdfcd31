// The twin's event stream: the kernel's own notifications from each namespace (`bridge monitor
// link` for STP port states, `ip monitor link` for links and bridges, `ip monitor address` on
// the balancers for the VIP), daemons from /proc, and haproxy's verdicts from its log. Nothing
// here polls a command: the kernel pushes; /proc and the logs are read from files. haproxy's log
// is only the fast path, a change as soon as haproxy writes it: the source of truth is its
// runtime socket, read through exec for every snapshot (observe/live.ts, readServers).
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, statSync } from 'fs';
import { join } from 'path';
import type { Service } from '../model/types';
import { nsOf, onNode, stateDir, type TwinLab } from '../twin/twin';
import { parseAddressMonitor, parseBridgeMonitor, parseHaproxyLog, parseLinkMonitor, type LineStream, type TargetEvent, type Watch } from './events';
import { streamLines } from './stream';

/** A command on a twin node, streamed. */
export function twinStream(lab: TwinLab, node: string, command: string, onLine: (line: string) => void): LineStream {
  return streamLines(onNode(lab, node, ['sh', '-c', command]), onLine);
}

const services: Service[] = ['apache2', 'haproxy', 'keepalived'];

/** Which daemons run in which container, from /proc: a process belongs to the container whose network namespace it shares. */
export function twinDaemons(lab: TwinLab): Map<string, boolean> {
  const { model } = lab;
  const containerOfNs = new Map<string, string>();
  for (const c of model.containers) {
    try {
      containerOfNs.set(`net:[${statSync(`/run/netns/${nsOf(model.name, c.name)}`).ino}]`, c.name);
    } catch {
      // The container is down.
    }
  }
  const running = new Set<string>();
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const container = containerOfNs.get(readlinkSync(`/proc/${pid}/ns/net`));
      if (!container) continue;
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
      if ((services as string[]).includes(comm) && state !== 'Z') running.add(`${container}:${comm}`);
    } catch {
      // The process ended while we looked.
    }
  }
  return new Map(model.containers.flatMap((c) => c.services.map((s) => [`${c.name}:${s}`, running.has(`${c.name}:${s}`)] as [string, boolean])));
}

export function twinWatch(lab: TwinLab, emit: (e: TargetEvent) => void, options: { daemonPollMs?: number } = {}): Watch {
  const { model } = lab;
  const streams: LineStream[] = [];
  const stpVms = new Set(model.bridges.filter((b) => b.stp).map((b) => b.vm));
  for (const vm of model.vms) {
    if (stpVms.has(vm.name)) {
      streams.push(streamLines(onNode(lab, vm.name, ['bridge', 'monitor', 'link']), (line) => {
        const p = parseBridgeMonitor(line);
        if (p) emit({ kind: 'stp-port', t: Date.now(), vm: vm.name, ...p });
      }));
    }
    streams.push(streamLines(onNode(lab, vm.name, ['ip', 'monitor', 'link']), (line) => {
      const l = parseLinkMonitor(line);
      if (l) emit({ kind: 'link', t: Date.now(), node: vm.name, ...l });
    }));
  }
  for (const container of new Set(model.vrrp.flatMap((g) => g.members.map((m) => m.container)))) {
    streams.push(streamLines(['ip', '-n', nsOf(model.name, container), 'monitor', 'address'], (line) => {
      const a = parseAddressMonitor(line);
      if (a) emit({ kind: 'address', t: Date.now(), node: container, ...a });
    }));
  }
  // Daemons: /proc read every daemonPollMs (no command spawned); haproxy logs: new lines only.
  let daemons = twinDaemons(lab);
  const logOffsets = new Map<string, number>();
  const balancers = model.containers.filter((c) => c.services.includes('haproxy')).map((c) => c.name);
  for (const b of balancers) logOffsets.set(b, logSize(lab, b));
  const timer = setInterval(() => {
    const now = twinDaemons(lab);
    for (const [key, running] of now) {
      if (daemons.get(key) === running) continue;
      const [container, service] = key.split(':');
      emit({ kind: 'daemon', t: Date.now(), container, service, running });
    }
    daemons = now;
    for (const b of balancers) {
      const file = haproxyLog(lab, b);
      const from = logOffsets.get(b) ?? 0;
      const size = logSize(lab, b);
      if (size < from) logOffsets.set(b, 0);
      if (size <= from) continue;
      const fd = openSync(file, 'r');
      const buffer = Buffer.alloc(size - from);
      try {
        readSync(fd, buffer, 0, buffer.length, from);
      } finally {
        closeSync(fd);
      }
      const text = buffer.toString('utf8');
      const complete = text.lastIndexOf('\n') + 1;
      logOffsets.set(b, from + Buffer.byteLength(text.slice(0, complete)));
      for (const line of text.slice(0, complete).split('\n')) {
        const v = parseHaproxyLog(line);
        if (v) emit({ kind: 'haproxy-server', t: Date.now(), balancer: b, backend: v.backend, server: v.server, up: v.up });
      }
    }
  }, options.daemonPollMs ?? 250);
  return {
    stop: () => {
      clearInterval(timer);
      for (const s of streams) s.stop();
    },
  };
}

export const haproxyLog = (lab: TwinLab, balancer: string) => join(stateDir(lab.model.name), 'logs', `${balancer}-haproxy.log`);

function logSize(lab: TwinLab, balancer: string): number {
  try {
    return statSync(haproxyLog(lab, balancer)).size;
  } catch {
    return 0;
  }
}
