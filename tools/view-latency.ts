// Benchmark (not a test): how long an event takes from the kernel to the live view's page.
// Brings up the twin of practica6 (fast profile, lab "viewlat"), opens the view in Debian's
// chromium, and causes STP port changes (swout1's blocked port down and up) and VRRP
// transitions (bal1's keepalived stopped and started). Independent timestamped listeners
// (`bridge -t monitor link`, `ip -ts monitor address`) give the kernel's time of each change;
// the page records when each event reached it (window.labArrivals). An event's latency runs
// from the earlier of that stamp and the view's own receipt to the page. Prints median and max,
// and the page's load time on practica6 and on a 60-container lab (no lab needed for those).
// Run as root: npm run view:latency [-- --cycles N]
import { spawn } from 'child_process';
import { chmodSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { chromium } from 'playwright-core';
import { readScenario, buildLab } from '../libs/spec/load';
import { renderLab } from '../libs/render';
import { writeLab } from '../libs/render/write';
import { parseAddressMonitor, parseBridgeMonitor } from '../libs/targets/events';
import { streamLines } from '../libs/targets/stream';
import { twinDriver } from '../libs/targets/twin-driver';
import { down, labNamespaces, loadTwinLab, nsOf, up } from '../libs/twin/twin';
import { startView } from '../libs/view';
import type { Driver } from '../libs/targets/driver';
import { scaledOutSpec } from '../libs/spec/scale';
import type { LabModel } from '../libs/model/types';

const name = 'viewlat';
const cyclesArg = process.argv.indexOf('--cycles');
const cycles = cyclesArg > 0 ? Number(process.argv[cyclesArg + 1]) : 8;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Faults run in a child process: the view's server shares this process, and a fault run here
 * (synchronous) would hold back the very events being timed.
 */
function twinFault(dir: string, target: string, action: string): Promise<void> {
  const child = spawn(process.execPath, ['-r', join(__dirname, 'register.js'), join(__dirname, 'cli.ts'), 'twin', 'fault', '--lab', dir, target, action], { stdio: 'ignore' });
  return new Promise((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`twin fault ${target} ${action}: exit ${code}`)))));
}

interface KernelChange {
  t: number;
  kind: 'stp' | 'vip';
  key: string;
  /** stp: the state; vip: whether the container gained (true) or lost the VIP. */
  value: string | boolean;
  container?: string;
}
interface Arrival {
  received: number;
  event: { kind: string; key: string; value: unknown; t: number };
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { n: s.length, median: Math.round(median * 10) / 10, max: Math.round(s[s.length - 1] * 10) / 10, min: Math.round(s[0] * 10) / 10 };
};

/** The scaled-out pattern on 6 hosts with `containers` containers. */
const bigLab = (containers: number): LabModel => buildLab(JSON.stringify(scaledOutSpec({ hosts: 6, containers })), { source: `6 hosts, ${containers} containers` });

/** Time from opening the page to the lab drawn, with a driver that answers every command with nothing (no lab needed). */
async function pageLoad(model: LabModel): Promise<{ containers: number; layoutAndServerMs: number; pageLoadMs: number }> {
  const driver: Driver = { name: 'twin', model, exec: () => ({ status: 0, stdout: '', stderr: '' }), fault: () => undefined, now: () => Date.now() };
  const started = Date.now();
  const view = await startView(driver, { pollMs: 600_000 });
  const layoutAndServerMs = Date.now() - started;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
    const loadStart = Date.now();
    await page.goto(view.server.url);
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForSelector('#stp tr[data-port]');
    return { containers: model.containers.length, layoutAndServerMs, pageLoadMs: Date.now() - loadStart };
  } finally {
    await browser.close();
    await view.stop();
  }
}

async function main(): Promise<void> {
  const loads = [await pageLoad(buildLab(readScenario('practica6'), { source: 'practica6' })), await pageLoad(bigLab(60))];
  process.stderr.write(`page loads: ${JSON.stringify(loads)}\n`);
  const base = mkdtempSync(join(tmpdir(), 'lab-viewlat-'));
  chmodSync(base, 0o755);
  const dir = join(base, name);
  writeLab(renderLab(buildLab(readScenario('practica6'), { source: 'practica6', profile: 'fast', name })), dir);
  const lab = loadTwinLab(dir);
  if (labNamespaces(name).length > 0) down(name, () => undefined);
  const stops: Array<() => unknown> = [];
  try {
    await up(lab, (line) => process.stderr.write(`${line}\n`));
    const vip = lab.model.vrrp[0].vip;
    const changes: KernelChange[] = [];
    // bridge -t prints "Timestamp: Tue Nov 24 09:19:37 2026 382454 usec" before each event.
    let stamp = 0;
    const lastState = new Map<string, string>();
    const bridgeMon = streamLines(['ip', 'netns', 'exec', nsOf(name, 'swout1'), 'bridge', '-t', 'monitor', 'link'], (line) => {
      const ts = /^Timestamp: (.+) (\d+) usec$/.exec(line);
      if (ts) return void (stamp = Date.parse(ts[1]) + Number(ts[2]) / 1000);
      const p = parseBridgeMonitor(line);
      if (!p) return;
      const key = `${p.bridge}/${p.port}`;
      if (lastState.get(key) === p.state) return;
      lastState.set(key, p.state);
      changes.push({ t: stamp, kind: 'stp', key, value: p.state });
    });
    stops.push(bridgeMon.stop);
    for (const container of ['bal1', 'bal2']) {
      const m = streamLines(['ip', '-n', nsOf(name, container), '-ts', 'monitor', 'address'], (line) => {
        const ts = /^\[(\S+)\] (.*)$/.exec(line);
        if (!ts) return;
        const a = parseAddressMonitor(ts[2]);
        if (a && a.address === vip) changes.push({ t: Date.parse(ts[1]), kind: 'vip', key: lab.model.vrrp[0].name, value: a.present, container });
      });
      stops.push(m.stop);
    }
    const driver = twinDriver(lab);
    const view = await startView(driver);
    stops.push(() => view.stop());
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    stops.push(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
    const loadStart = Date.now();
    await page.goto(view.server.url);
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForSelector('#stp tr[data-port]');
    const loadMs = Date.now() - loadStart;
    await sleep(1000);
    changes.length = 0;
    const since = Date.now();
    for (let i = 0; i < cycles; i++) {
      process.stderr.write(`cycle ${i + 1}/${cycles}\n`);
      await twinFault(dir, 'swout1:vswout2', 'down');
      await sleep(400);
      await twinFault(dir, 'swout1:vswout2', 'up');
      await sleep(600);
      await twinFault(dir, 'bal1:keepalived', 'down');
      await sleep(1200);
      await twinFault(dir, 'bal1:keepalived', 'up');
      await sleep(2500);
    }
    await sleep(1500);
    const arrivals = (await page.evaluate('window.labArrivals')) as Arrival[];
    if (process.env.VIEW_LATENCY_DEBUG) {
      for (const c of changes) process.stderr.write(`kernel ${new Date(c.t).toISOString()} ${c.kind} ${c.key} ${c.container ?? ''} ${c.value}\n`);
      for (const a of arrivals) process.stderr.write(`page   ${new Date(a.received).toISOString()} ${a.event.kind} ${a.event.key} ${JSON.stringify(a.event.value)}\n`);
    }
    const latencies: Record<'stp' | 'vip', number[]> = { stp: [], vip: [] };
    let unmatched = 0;
    const slow: string[] = [];
    const used = new Set<Arrival>();
    for (const c of changes.filter((x) => x.t >= since)) {
      // The listener that stamps c.t is a process like the view's own: on a busy machine either
      // may read the notification first, so the page may even get it before c.t.
      const match = arrivals.find((a) => {
        if (used.has(a) || a.received < c.t - 200 || a.event.kind !== c.kind || a.event.key !== c.key) return false;
        if (c.kind === 'stp') return a.event.value === c.value;
        return (a.event.value as string[]).includes(c.container!) === c.value;
      });
      if (!match) {
        unmatched++;
        continue;
      }
      used.add(match);
      // The kernel changed the state before either listener read it: the earlier of the two stamps.
      const changed = Math.min(c.t, match.event.t);
      latencies[c.kind].push(match.received - changed);
      if (match.received - changed > 500) slow.push(`${new Date(c.t).toISOString()} ${c.kind} ${c.key} ${c.container ?? ''} ${c.value} reached the page ${match.received - changed} ms later`);
    }
    const report = {
      lab: name,
      profile: 'fast',
      cycles,
      pageLoadMs: loadMs,
      pageLoads: loads,
      stp: stats(latencies.stp),
      vrrp: stats(latencies.vip),
      all: stats([...latencies.stp, ...latencies.vip]),
      unmatchedKernelChanges: unmatched,
      slowerThan500ms: slow,
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    for (const stop of stops.reverse()) await stop();
    if (labNamespaces(name).length > 0) down(name, (line) => process.stderr.write(`${line}\n`));
    rmSync(base, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
