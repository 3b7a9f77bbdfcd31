// Impairing a twin link's cable (delay, jitter, loss, rate), both directions, in the wire
// namespace that joins its two NICs (twin.ts, buildWires): so the NICs, the bridges and STP see a
// slow or lossy cable and nothing else changes. netem through tc where the kernel has sch_netem
// (on each wire end's egress, i.e. towards each NIC); on a kernel built without it (tc: "Specified
// qdisc kind is unknown"), impair-relay.py carries the cable's frames in place of the tc redirect,
// doing what netem would.
import { spawn } from 'child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { dirname, join } from 'path';
import { netemArgs, type Impairment } from '../model/impairment';
import { missingTools, must, pauseSync, run, running, TwinError } from './system';

/** The tc filter that makes one wire end's incoming frames leave by the other end (the plain cable). */
export const wireRedirect = (from: string, to: string) => `filter add dev ${from} parent ffff: protocol all u32 match u32 0 0 action mirred egress redirect dev ${to}`;

export interface Wire {
  /** The wire namespace. */
  ns: string;
  /** The cable's two ends there. */
  ends: [string, string];
  /** Where the relay's pid is kept while it runs (in the lab's state folder). */
  pidFile: string;
}

/** How an impairment was applied: the kernel's netem, or the user-space relay. */
export type ImpairMechanism = 'netem' | 'relay';

export function impairWire(wire: Wire, impairment: Impairment): ImpairMechanism {
  healWire(wire);
  const netem = netemArgs(impairment);
  const tried = run(['tc', '-n', wire.ns, 'qdisc', 'replace', 'dev', wire.ends[0], 'root', 'netem', ...netem]);
  if (tried.status === 0) {
    must(['tc', '-n', wire.ns, 'qdisc', 'replace', 'dev', wire.ends[1], 'root', 'netem', ...netem]);
    return 'netem';
  }
  if (!/qdisc kind is unknown/i.test(tried.stderr)) throw new TwinError(`tc netem on ${wire.ends[0]} failed: ${tried.stderr.trim()}`);
  startRelay(wire, impairment);
  return 'relay';
}

/** Back to a plain cable: no netem, no relay, the tc redirect in place. Idempotent. */
export function healWire(wire: Wire): void {
  // One look at every qdisc of the wire namespace: a heal is timed by the drills.
  const qdiscs = run(['tc', '-n', wire.ns, 'qdisc', 'show']).stdout.split('\n');
  for (const end of wire.ends) {
    if (qdiscs.some((l) => /^qdisc netem \S+ dev (\S+) root\b/.exec(l)?.[1] === end)) must(['tc', '-n', wire.ns, 'qdisc', 'del', 'dev', end, 'root']);
  }
  if (!existsSync(wire.pidFile)) return;
  const pid = Number(readFileSync(wire.pidFile, 'utf8'));
  stopProcess(pid);
  // The relay is gone: frames are lost until the redirect is back, which is at once.
  const batch = wire.ends.flatMap((end, i) => [`filter del dev ${end} parent ffff:`, wireRedirect(end, wire.ends[1 - i])]);
  must(['tc', '-n', wire.ns, '-batch', '-'], { input: `${batch.join('\n')}\n` });
  rmSync(wire.pidFile, { force: true });
}

function startRelay(wire: Wire, i: Impairment): void {
  if (missingTools([python()]).length > 0) throw new TwinError('this kernel has no sch_netem, and its stand-in needs python3: apt-get install python3');
  mkdirSync(dirname(wire.pidFile), { recursive: true });
  const log = wire.pidFile.replace(/\.pid$/, '.log');
  const fd = openSync(log, 'w');
  const argv = ['ip', 'netns', 'exec', wire.ns, python(), join(__dirname, 'impair-relay.py'), ...wire.ends, String(i.delayMs), String(i.jitterMs), String(i.lossPercent), String(i.rateBps ?? 0)];
  let pid: number | undefined;
  try {
    const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', fd, fd] });
    child.unref();
    pid = child.pid;
  } finally {
    closeSync(fd);
  }
  if (pid === undefined) throw new TwinError(`could not start ${argv.join(' ')}`);
  writeFileSync(wire.pidFile, `${pid}\n`);
  // Bounded: the relay says "ready" once both sockets listen; only then is the redirect removed
  // (until then a frame may pass twice, never not at all).
  for (let n = 0; !readFileSync(log, 'utf8').includes('ready'); n++) {
    if (n > 100 || !running(pid)) {
      stopProcess(pid);
      rmSync(wire.pidFile, { force: true });
      throw new TwinError(`the impairment relay on ${wire.ends.join(' ↔ ')} did not start: ${readFileSync(log, 'utf8').trim() || 'no message'}`);
    }
    pauseSync(50);
  }
  must(['tc', '-n', wire.ns, '-batch', '-'], { input: wire.ends.map((end) => `filter del dev ${end} parent ffff:\n`).join('') });
}

/** Debian's python3 (a pyenv shim earlier on PATH may point anywhere). */
const python = () => (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

function stopProcess(pid: number): void {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let n = 0; n < 40 && running(pid); n++) pauseSync(50);
  if (running(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
}
