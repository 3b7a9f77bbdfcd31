// `lab bench --load`: renders the spec into a temporary twin, each server in a CPU quota of its
// own (--cpu), runs wrk through the VIP with each --servers count and straight to one server,
// prints the table, and always takes the twin down.
import { chmodSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { renderLab } from '../libs/render';
import { regenerateLab } from '../libs/render/write';
import { loadServerCounts, serviceBackend } from '../libs/model/service';
import { loadMarkdown, runLoad } from '../libs/checks/load';
import { twinDriver } from '../libs/targets/twin-driver';
import { down, loadTwinLab, TwinError, up } from '../libs/twin/twin';
import type { SpecChoice } from '../libs/spec/load';
import { loadModel } from './cli-spec';

export interface LoadArgs extends SpecChoice {
  profile?: 'seed' | 'fast';
  name?: string;
  servers?: string;
  duration: number;
  cpu: number;
  balancerCpu?: number;
  work: number;
  connections: number;
  threads: number;
  json: boolean;
}

/** "1,3,6,9" → [1, 3, 6, 9]; a clear error for anything else. */
export function serverCounts(text: string): number[] {
  const counts = text.split(',').map((s) => s.trim());
  const bad = counts.filter((s) => !/^[1-9]\d*$/.test(s));
  if (bad.length > 0 || counts.length === 0) throw new TwinError(`--servers ${text}: not a comma-separated list of server counts (e.g. --servers 1,3,6,9)`);
  return counts.map(Number);
}

function checkArgs(a: LoadArgs): void {
  const positive = (name: string, value: number | undefined, max: number) => {
    if (value !== undefined && !(value > 0 && value <= max)) throw new TwinError(`--${name} ${value}: give a number above 0 and at most ${max}`);
  };
  // The twin runs a command for 30 s at most: wrk's run and its start must fit.
  positive('duration', a.duration, 20);
  positive('cpu', a.cpu, 64);
  positive('balancer-cpu', a.balancerCpu, 64);
  positive('connections', a.connections, 10_000);
  positive('threads', a.threads, 64);
  if (!(Number.isInteger(a.work) && a.work >= 0 && a.work <= 100_000)) throw new TwinError(`--work ${a.work}: give a whole number of sha1 rounds from 0 to 100000`);
}

export async function benchLoad(a: LoadArgs, say: (line: string) => void, progress: (line: string) => void): Promise<void> {
  checkArgs(a);
  const { model } = loadModel(a, { profile: a.profile });
  const name = `${a.name ?? model.name}-load`.slice(0, 31);
  const lab0 = loadModel(a, { profile: a.profile, name }).model;
  const backend = serviceBackend(lab0);
  if (!backend) throw new TwinError(`${lab0.name} has no haproxy backend to load`);
  const counts = a.servers === undefined ? loadServerCounts(backend.servers.length) : serverCounts(a.servers);
  const tooMany = counts.filter((n) => n > backend.servers.length);
  if (tooMany.length > 0) throw new TwinError(`--servers ${a.servers}: backend ${backend.name} of ${lab0.name} has ${backend.servers.length} servers (${backend.servers.map((s) => s.name).join(', ')}); give counts up to ${backend.servers.length}`);
  const cpu: Record<string, number> = Object.fromEntries(backend.servers.map((s) => [s.name, a.cpu]));
  if (a.balancerCpu !== undefined) for (const b of lab0.haproxy!.balancers) cpu[b] = a.balancerCpu;
  const base = mkdtempSync(join(tmpdir(), 'lab-load-'));
  // Apache runs as www-data and must read the pages.
  chmodSync(base, 0o755);
  try {
    const dir = join(base, name);
    regenerateLab(renderLab(lab0), dir);
    const lab = loadTwinLab(dir);
    progress(`== ${name}: servers at ${a.cpu} core each${a.balancerCpu === undefined ? '' : `, balancers at ${a.balancerCpu}`}`);
    await up(lab, progress, { cpu });
    try {
      const report = runLoad(twinDriver(lab), { servers: counts, durationS: a.duration, work: a.work, connections: a.connections, threads: a.threads, say: progress });
      if (a.json) say(JSON.stringify({ ...report, cpu_quota: { servers: a.cpu, balancers: a.balancerCpu ?? null } }, null, 2));
      else say(`\n${loadMarkdown(report)}\nEach server capped at ${a.cpu} core (its own cgroup)${a.balancerCpu === undefined ? '; the balancers uncapped' : `; each balancer at ${a.balancerCpu} core`}.`);
    } finally {
      down(lab.model.name, progress);
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}
