// `lab bench --record` on the twin through the CLI: the fast profile's balancer-loss drill, once.
// The recorded folder holds a real SVG and PNG of the announced size, an explanation whose
// figures are the timeline's, and pcaps where tshark finds both balancers' VRRP adverts. Bad
// arguments are refused before any lab comes up, and a bench interrupted (SIGINT) leaves no
// tcpdump and no recorder behind. Own lab names (rectw-fast, recint-fast). Needs root, tshark; about 2 minutes.
import { spawn, spawnSync } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Timeline } from '../libs/checks/record';
import { plotSize, pngScale } from '../libs/checks/record-plot';
import { rolesOf } from '../libs/checks/suite';
import { down, labNamespaces } from '../libs/twin/twin';
import { labCli, labCliArgv, practica6, root } from './helpers';

const labs = ['rectw-fast', 'recint-fast'];
const base = mkdtempSync(join(tmpdir(), 'lab-record-twin-'));
const cleanup = () => {
  for (const name of labs) if (labNamespaces(name).length > 0) down(name, () => undefined);
};
process.on('exit', cleanup);

const t = suite('lab bench --record on the twin');
t.before(cleanup);
t.after(() => {
  cleanup();
  rmSync(base, { recursive: true, force: true });
});

const r = rolesOf(practica6('fast'));

t('a folder that is not there, a file, or an unknown drill: refused with a clear error, no lab started', () => {
  const missing = labCli(['bench', '--profile', 'fast', '--record', join(base, 'nowhere'), '--name', 'rectw'], 60_000);
  assert.is(missing.status, 1, missing.stderr);
  assert.match(missing.stderr, `--record ${join(base, 'nowhere')}: no such folder; create it first`);
  assert.not.match(missing.stderr, /\n\s+at /, 'no stack trace');
  const file = join(base, 'a-file');
  writeFileSync(file, 'x');
  const notDir = labCli(['bench', '--profile', 'fast', '--record', file, '--name', 'rectw'], 60_000);
  assert.is(notDir.status, 1, notDir.stderr);
  assert.match(notDir.stderr, `--record ${file}: not a folder`);
  const dir = join(base, 'bad-drill');
  mkdirSync(dir);
  const badDrill = labCli(['bench', '--profile', 'fast', '--record', dir, '--drill', 'balancer-los', '--name', 'rectw'], 60_000);
  assert.is(badDrill.status, 1, badDrill.stderr);
  assert.match(badDrill.stderr, '--drill balancer-los: no such drill; drills: balancer-loss,');
  assert.equal(labNamespaces('rectw-fast'), []);
});

const pngSize = (png: Buffer) => ({ width: png.readUInt32BE(16), height: png.readUInt32BE(20) });
const secondsOf = (ms: number) => Number((ms / 1000).toFixed(2));

t('balancer-loss recorded: timeline, explanation, plot and pcaps', () => {
  const out = join(base, 'rec');
  mkdirSync(out);
  // The fine probe: a request every 10 ms, overlapping (probe.ts).
  const run = labCli(['bench', '--profile', 'fast', '--drill', 'balancer-loss', '--runs', '1', '--probe-ms', '10', '--record', out, '--name', 'rectw'], 600_000);
  assert.is(run.status, 0, `${run.stdout}\n${run.stderr}`);
  const dir = join(out, 'fast', 'balancer-loss-1');
  for (const f of ['timeline.json', 'explanation.txt', 'plot.svg', 'plot.png', 'usuario.pcap', 'usuario2.pcap']) assert.ok(existsSync(join(dir, f)), f);
  assert.match(readFileSync(join(out, 'index.md'), 'utf8'), '](fast/balancer-loss-1/plot.png)');

  const timeline = JSON.parse(readFileSync(join(dir, 'timeline.json'), 'utf8')) as Timeline;
  const size = plotSize(timeline);
  const svg = readFileSync(join(dir, 'plot.svg'), 'utf8');
  assert.match(svg, new RegExp(`^<svg [^>]*width="${size.width}" height="${size.height}"`));
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  const png = readFileSync(join(dir, 'plot.png'));
  assert.equal([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.equal(pngSize(png), { width: size.width * pngScale, height: size.height * pngScale });

  // The explanation's figures, computed here from the timeline's events.
  const text = readFileSync(join(dir, 'explanation.txt'), 'utf8');
  console.log(text);
  const master = r.master.container;
  const backup = r.backup.container;
  const adverts = timeline.events.filter((e) => e.kind === 'advert');
  const takeover = adverts.find((e) => e.key === backup && e.t >= timeline.zero);
  assert.ok(takeover, `no advert of ${backup} after the fault: ${JSON.stringify(adverts.slice(-3))}`);
  const lastAdvert = adverts.filter((e) => e.key === master && e.t <= takeover!.t).pop()!;
  const m = new RegExp(`^${backup} became master ([\\d.]+) s after ${master}'s last advert \\(master-down interval ([\\d.]+) s, the fault fell ([\\d.]+) s after an advert`).exec(text);
  assert.ok(m, text);
  assert.is(Number(m![1]), secondsOf(takeover!.t - lastAdvert.t));
  assert.is(Number(m![2]), secondsOf(r.backup.masterDownInterval * 1000));
  const beforeFault = adverts.filter((e) => e.key === master && e.t <= timeline.zero).pop()!;
  assert.is(Number(m![3]), secondsOf(timeline.zero - beforeFault.t));
  const firstOk = timeline.probes.flatMap((p) => p.samples).filter((s) => s.ok && s.t > takeover!.t).sort((a, b) => a.t - b.t)[0];
  if (firstOk) assert.match(text, `first successful request ${firstOk.t - takeover!.t < 1000 ? `${firstOk.t - takeover!.t} ms` : `${secondsOf(firstOk.t - takeover!.t).toFixed(2)} s`} later`);
  // The outage sentence: the worst user's first failure to its first success after the last one.
  const o = /(\S+) saw an outage of ([\d.]+ m?s) \((\d+) failed requests?\)/.exec(text);
  const ms = (figure: string) => (figure.endsWith(' ms') ? Number(figure.slice(0, -3)) : Number(figure.slice(0, -2)) * 1000);
  const shown = (value: number) => (value < 1000 ? value : secondsOf(value) * 1000);
  // Requests every 10 ms cannot all miss an outage of about 100 ms.
  assert.ok(o, `no failed request with the fine probe: ${text}`);
  for (const p of timeline.probes) {
    const gaps = p.samples.slice(1).map((x, i) => x.t - p.samples[i].t).sort((a, b) => a - b);
    assert.ok(gaps[Math.floor(gaps.length / 2)] <= 30, `${p.user}: median step between requests ${gaps[Math.floor(gaps.length / 2)]} ms`);
  }
  if (o) {
    const samples = timeline.probes.find((p) => p.user === o[1])!.samples;
    const failed = samples.filter((s) => !s.ok);
    const back = samples.find((s) => s.ok && s.t > failed[failed.length - 1].t) ?? failed[failed.length - 1];
    assert.is(ms(o[2]), shown(back.t - failed[0].t));
    assert.is(Number(o[3]), failed.length);
    assert.is(ms(o[2]), shown(timeline.outage.ms), 'the bench measured the same outage');
  } else assert.match(text, 'No request failed');
  // Everything on one clock: the fault, the probes and the packets fall inside the run.
  assert.ok(timeline.events.every((e) => e.t >= timeline.window.start && e.t < timeline.window.end));

  // The pcap: adverts from both balancers, read by tshark.
  const sources = spawnSync('tshark', ['-r', join(dir, 'usuario.pcap'), '-Y', 'vrrp', '-T', 'fields', '-e', 'ip.src'], { encoding: 'utf8' });
  assert.is(sources.status, 0, sources.stderr);
  assert.equal([...new Set(sources.stdout.split('\n').filter(Boolean))].sort(), [r.master.address, r.backup.address].sort());
  assert.equal(labNamespaces('rectw-fast'), [], 'the lab is down');
});

/** Processes whose network namespace is one of the lab's, by their command name. */
function commandsIn(lab: string): string[] {
  const inodes = new Set(labNamespaces(lab).map((ns) => `net:[${statSync(`/run/netns/${ns}`).ino}]`));
  const names: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (inodes.has(readlinkSync(`/proc/${pid}/ns/net`))) names.push(readFileSync(`/proc/${pid}/comm`, 'utf8').trim());
    } catch {
      // Gone meanwhile.
    }
  }
  return names;
}

const workerPids = (out: string) =>
  readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((pid) => {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        return cmd.includes('record-worker.ts') && cmd.includes(out);
      } catch {
        return false;
      }
    });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t('interrupted with SIGINT while recording: no tcpdump, no recorder left', async () => {
  const out = join(base, 'interrupted');
  mkdirSync(out);
  const [node, ...args] = labCliArgv('bench', '--profile', 'fast', '--drill', 'balancer-loss', '--runs', '3', '--record', out, '--name', 'recint');
  const child = spawn(node, args, { cwd: root, stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    // Bounded: the lab comes up in about 15 s; the recorder starts right after.
    let tcpdumps = 0;
    for (let i = 0; i < 240 && tcpdumps < 2; i++) {
      await sleep(500);
      tcpdumps = workerPids(out).length > 0 ? commandsIn('recint-fast').filter((c) => c === 'tcpdump').length : 0;
    }
    assert.is(tcpdumps, 2, 'the recorder captures on both users');
    await sleep(3000);
    child.kill('SIGINT');
    await exited;
    let left: string[] = ['?'];
    for (let i = 0; i < 40 && left.length > 0; i++) {
      await sleep(250);
      left = [...commandsIn('recint-fast').filter((c) => c === 'tcpdump'), ...workerPids(out).map((p) => `record-worker ${p}`)];
    }
    assert.equal(left, []);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    cleanup();
    // The interrupted bench had no chance to remove its rendered lab (lab-bench-*/recint-fast).
    for (const d of readdirSync(tmpdir()).filter((x) => x.startsWith('lab-bench-'))) {
      const dir = join(tmpdir(), d);
      if (readdirSync(dir).join() === 'recint-fast') rmSync(dir, { recursive: true, force: true });
    }
  }
});

t.run();
