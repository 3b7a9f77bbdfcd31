// `lab bench --load`: the service's throughput and latency under a real load generator (wrk, on
// a user) through the VIP with 1, 3, 6, 9… servers in rotation, and straight to one server from
// the master balancer. Beside each figure, the CPU that haproxy, the servers and wrk used, so the
// report names what limits the throughput from measurements, not by assumption.
import type { Driver } from '../targets/driver';
import { haproxySocket, serviceBackend } from '../model/service';
import { haproxyStateCommand, parseServersState } from '../targets/events';
import { waitUntil } from '../observe/observe';
import { rolesOf, settle } from './suite';

export interface LoadOptions {
  /** How many servers in rotation, one point each (the backend's first N servers). */
  servers: number[];
  durationS: number;
  /** Rounds of sha1 per request (index.php?work=N): the page's CPU cost. */
  work: number;
  connections: number;
  threads: number;
  say?: (line: string) => void;
}

export interface Latency {
  p50_ms: number;
  p99_ms: number;
}

export interface LoadPoint {
  /** `vip` (a user, through the balancer) or `direct` (the master balancer straight to one server). */
  path: 'vip' | 'direct';
  servers: number;
  requests_per_s: number;
  latency: Latency;
  /** Requests that failed (socket errors, non-2xx answers). */
  errors: number;
  /** CPU used over the run, in cores (1 = one core busy the whole time). */
  cpu: { haproxy: number; servers: number; wrk: number; machine: number };
  /** CPU time per request in µs: what each request costs each part, whatever else shares the cores. */
  cpu_us_per_request: { haproxy: number; servers: number; wrk: number };
  /** The servers' CPU quota in cores (their sum), when they have one. */
  servers_quota: number | null;
  limit: string;
}

export interface LoadReport {
  lab: string;
  url: string;
  work: number;
  duration_s: number;
  connections: number;
  threads: number;
  /** Cores of the machine the load ran on, and its load average before the run. */
  machine: { cores: number; loadavg: string };
  points: LoadPoint[];
}

/** wrk's latency unit → ms. */
const unitMs: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

/** Requests/s, p50, p99 and errors from `wrk --latency` output. */
export function parseWrk(text: string): { requestsPerS: number; latency: Latency; errors: number } {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  const pct = (p: string) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(text);
    if (!m) throw new Error(`wrk printed no ${p}% latency (was --latency given?):\n${text}`);
    return Math.round(Number(m[1]) * unitMs[m[2]] * 100) / 100;
  };
  if (!rps) throw new Error(`wrk printed no Requests/sec:\n${text}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  const errors = (socket ? socket.slice(1).reduce((s, n) => s + Number(n), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0);
  return { requestsPerS: Math.round(Number(rps[1])), latency: { p50_ms: pct('50'), p99_ms: pct('99') }, errors };
}

/** The children's user and system time from the POSIX shell's `times` (its second line). */
export function parseTimes(text: string): number {
  const lines = text.trim().split('\n').filter((l) => /^\d+m[\d.]+s \d+m[\d.]+s$/.test(l.trim()));
  const children = lines[lines.length - 1];
  if (!children) throw new Error(`no \`times\` output in:\n${text}`);
  return children.trim().split(' ').reduce((sum, t) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(t)!;
    return sum + Number(m[1]) * 60 + Number(m[2]);
  }, 0);
}

/** haproxy's CPU time (all its threads) in seconds, from /proc/<pid>/stat. */
const haproxyCpuCommand = 'pid=$(pidof haproxy | cut -d" " -f1); t=$(getconf CLK_TCK); awk -v t="$t" \'{ print ($14 + $15) / t }\' /proc/$pid/stat';
/** The whole machine's busy CPU time in seconds (every core), from /proc/stat. */
const machineCpuCommand = 't=$(getconf CLK_TCK); awk -v t="$t" \'/^cpu / { print ($2 + $3 + $4 + $7 + $8) / t }\' /proc/stat';

function number(driver: Driver, node: string, command: string, what: string): number {
  const out = driver.exec(node, command);
  const value = Number(out.stdout.trim());
  if (out.status !== 0 || out.stdout.trim() === '' || Number.isNaN(value)) throw new Error(`cannot read ${what} on ${node}: ${(out.stderr || out.stdout).trim() || `exit ${out.status}`}`);
  return value;
}

interface CpuReading {
  at: number;
  haproxy: number;
  servers: number;
  machine: number;
}

/** A container's CPU time and quota through the driver; an error when the target cannot tell. */
function containerCpu(driver: Driver, container: string): { seconds: number; quotaCores: number | null } {
  const cpu = driver.containerCpu?.(container);
  if (!cpu) throw new Error(`the ${driver.name} target cannot read the CPU time of ${container} (the twin reads its cgroup)`);
  return cpu;
}

function readCpu(driver: Driver, balancer: string, servers: string[]): CpuReading {
  return {
    at: driver.now(),
    haproxy: number(driver, balancer, haproxyCpuCommand, "haproxy's CPU time"),
    servers: servers.reduce((sum, s) => sum + containerCpu(driver, s).seconds, 0),
    machine: number(driver, balancer, machineCpuCommand, 'the machine CPU time'),
  };
}

/**
 * What limits a point, from its CPU figures: a resource busy at ≥ 85 % of what it may use. The
 * servers first (their quota), then wrk (its threads), then haproxy (one core per thread, at
 * most the machine's), then the machine's cores as a whole (everything sharing them).
 */
export function limitOf(p: Pick<LoadPoint, 'cpu' | 'servers_quota' | 'servers'>, threads: number, cores: number): string {
  const busy = 0.85;
  if (p.servers_quota !== null && p.cpu.servers >= busy * p.servers_quota) return `servers (${pct(p.cpu.servers / p.servers_quota)} of their CPU quota)`;
  if (p.cpu.wrk >= busy * Math.min(threads, cores)) return `load generator (wrk at ${p.cpu.wrk.toFixed(2)} cores, ${threads} thread${threads > 1 ? 's' : ''})`;
  if (p.cpu.haproxy >= busy) return `balancer (haproxy at ${p.cpu.haproxy.toFixed(2)} cores)`;
  const rest = Math.max(0, p.cpu.machine - p.cpu.haproxy - p.cpu.servers - p.cpu.wrk);
  if (p.cpu.machine >= busy * cores) return `the machine's ${cores} cores (all busy: haproxy ${p.cpu.haproxy.toFixed(2)}, servers ${p.cpu.servers.toFixed(2)}, wrk ${p.cpu.wrk.toFixed(2)}, the rest ${rest.toFixed(2)}: kernel networking, other processes)`;
  return 'no CPU saturated (latency-bound: too few connections?)';
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

/** Puts exactly the first `n` servers in rotation (Apache up or down on each) and waits for haproxy to agree. */
function rotation(driver: Driver, balancer: string, backend: string, servers: string[], n: number, timeoutMs: number): void {
  const wanted = new Set(servers.slice(0, n));
  for (const s of servers) driver.fault(`${s}:apache2`, wanted.has(s) ? 'up' : 'down');
  waitUntil(driver, `haproxy on ${balancer} with ${n} server(s) up`, timeoutMs, () => {
    const states = parseServersState(driver.exec(balancer, haproxyStateCommand(haproxySocket)).stdout);
    return !!states && servers.every((s) => states.get(`${backend}/${s}`) === wanted.has(s));
  }, 500);
}

function wrk(driver: Driver, node: string, url: string, o: LoadOptions): { requestsPerS: number; latency: Latency; errors: number; cpu: number } {
  const out = driver.exec(node, `wrk -t${o.threads} -c${o.connections} -d${o.durationS}s --latency '${url}'; s=$?; times; exit $s`);
  if (out.status === 127 || /wrk: not found/.test(out.stderr)) throw new Error(`wrk is missing on ${node}: apt-get install wrk`);
  if (out.status !== 0) throw new Error(`wrk on ${node} failed (exit ${out.status}): ${(out.stderr || out.stdout).trim()}`);
  return { ...parseWrk(out.stdout), cpu: parseTimes(out.stdout) / o.durationS };
}

export function runLoad(driver: Driver, o: LoadOptions): LoadReport {
  const say = o.say ?? (() => undefined);
  const r = rolesOf(driver.model);
  const backend = serviceBackend(driver.model);
  if (!backend || !r.http) throw new Error(`${driver.model.name} has no HTTP service to load`);
  const servers = backend.servers.map((s) => s.name);
  const tooMany = o.servers.filter((n) => !(Number.isInteger(n) && n >= 1 && n <= servers.length));
  if (tooMany.length > 0) throw new Error(`--servers ${tooMany.join(',')}: the backend ${backend.name} has ${servers.length} servers; give counts from 1 to ${servers.length}`);
  const balancer = r.master.container;
  const user = r.users[0];
  const cores = number(driver, balancer, 'nproc', 'the number of cores');
  const loadavg = driver.exec(balancer, 'cut -d" " -f1-3 /proc/loadavg').stdout.trim();
  const page = (base: string) => `${base.replace(/\/?$/, '/')}?work=${o.work}`;
  const changeMs = (backend.check.fall + backend.check.rise + 2) * backend.check.inter + 10_000;
  settle(driver, r);
  say(`load: wrk -t${o.threads} -c${o.connections} -d${o.durationS}s on ${user}, page ${page(r.url)}; ${cores} cores, load average ${loadavg}`);

  const point = (path: LoadPoint['path'], n: number, node: string, url: string, active: string[]): LoadPoint => {
    const quotas = active.map((s) => containerCpu(driver, s).quotaCores);
    const before = readCpu(driver, balancer, active);
    const w = wrk(driver, node, url, o);
    const after = readCpu(driver, balancer, active);
    const wall = (after.at - before.at) / 1000;
    const p: LoadPoint = {
      path,
      servers: n,
      requests_per_s: w.requestsPerS,
      latency: w.latency,
      errors: w.errors,
      cpu: {
        haproxy: round2((after.haproxy - before.haproxy) / wall),
        servers: round2((after.servers - before.servers) / wall),
        wrk: round2(w.cpu),
        machine: round2((after.machine - before.machine) / wall),
      },
      cpu_us_per_request: { haproxy: 0, servers: 0, wrk: 0 },
      servers_quota: quotas.every((q) => q !== null) ? round2(quotas.reduce((s, q) => s + q!, 0)) : null,
      limit: '',
    };
    const perRequest = (cores: number) => (p.requests_per_s > 0 ? Math.round((cores * 1e6) / p.requests_per_s) : 0);
    p.cpu_us_per_request = { haproxy: perRequest(p.cpu.haproxy), servers: perRequest(p.cpu.servers), wrk: perRequest(p.cpu.wrk) };
    p.limit = limitOf(p, o.threads, cores);
    say(`${path === 'vip' ? `through the VIP, ${n} server(s)` : `straight to ${active[0]} from ${node}`}: ${p.requests_per_s} req/s, p50 ${p.latency.p50_ms} ms, p99 ${p.latency.p99_ms} ms; limit: ${p.limit}`);
    return p;
  };

  const points: LoadPoint[] = [];
  try {
    for (const n of [...new Set(o.servers)].sort((a, b) => a - b)) {
      rotation(driver, balancer, backend.name, servers, n, changeMs);
      points.push(point('vip', n, user, page(r.url), servers.slice(0, n)));
    }
    // The first server alone, from the master balancer: the same page without the proxy.
    const first = backend.servers[0];
    rotation(driver, balancer, backend.name, servers, 1, changeMs);
    points.push(point('direct', 1, balancer, page(`http://${first.address}:${first.port}/`), [first.name]));
  } finally {
    for (const s of servers) driver.fault(`${s}:apache2`, 'up');
  }
  settle(driver, r);
  return { lab: driver.model.name, url: page(r.url), work: o.work, duration_s: o.durationS, connections: o.connections, threads: o.threads, machine: { cores, loadavg }, points };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

export function loadMarkdown(report: LoadReport): string {
  const lines = [
    '| path | servers in rotation | requests/s | p50 | p99 | errors | CPU haproxy | CPU servers (of quota) | CPU wrk | CPU machine | µs/request: haproxy, servers, wrk | limit |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const p of report.points) {
    const servers = p.servers_quota === null ? p.cpu.servers.toFixed(2) : `${p.cpu.servers.toFixed(2)} (${pct(p.cpu.servers / p.servers_quota)} of ${p.servers_quota})`;
    lines.push(`| ${p.path === 'vip' ? 'user → VIP' : 'balancer → server'} | ${p.servers} | ${p.requests_per_s} | ${p.latency.p50_ms} ms | ${p.latency.p99_ms} ms | ${p.errors} | ${p.cpu.haproxy.toFixed(2)} | ${servers} | ${p.cpu.wrk.toFixed(2)} | ${p.cpu.machine.toFixed(2)} of ${report.machine.cores} | ${p.cpu_us_per_request.haproxy}, ${p.cpu_us_per_request.servers}, ${p.cpu_us_per_request.wrk} | ${p.limit} |`);
  }
  lines.push('', `wrk -t${report.threads} -c${report.connections} -d${report.duration_s}s --latency ${report.url}; CPU in cores (1.00 = one core busy the whole run); load average before: ${report.machine.loadavg}.`);
  return lines.join('\n');
}
