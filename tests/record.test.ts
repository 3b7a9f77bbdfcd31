// `lab bench --record` without a lab: the explanation of a hand-built timeline (its figures
// computed here from the events), the timeline's assembly, the pcap fields' parser, and the plot
// files (real SVG and PNG of the announced size, the same bytes twice).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildTimeline, explain, parsePackets, type Timeline } from '../libs/checks/record';
import { plotSize, pngScale, renderPlot } from '../libs/checks/record-plot';
import { rolesOf } from '../libs/checks/suite';
import { practica6 } from './helpers';

const model = practica6('seed');
const r = rolesOf(model);
const master = r.master.container;
const backup = r.backup.container;
const vip = r.group.vip;
const masterAddress = r.master.address;
const backupAddress = r.backup.address;
const masterPort = r.masterC.nics.find((n) => n.subnet === r.group.subnet)!.hostIfname;

/** A balancer-loss run: adverts every second, the fault 200 ms after one, the takeover, a gap in the requests. */
function balancerLoss(): Timeline {
  const t0 = 1_700_000_000_000;
  const fault = t0 + 3200;
  const takeover = fault + 3410;
  const samples = [] as Array<{ t: number; ok: boolean }>;
  for (let t = t0 + 1000; t < takeover + 1500; t += 70) samples.push({ t, ok: t < fault + 30 || t > takeover + 55 });
  const adverts = [0, 1000, 2000, 3000].map((d) => ({ t: t0 + d, kind: 'advert' as const, source: masterAddress, detail: '150' }));
  adverts.push({ t: takeover, kind: 'advert', source: backupAddress, detail: '100' });
  return buildTimeline({
    model,
    profile: 'seed',
    run: {
      drill: 'balancer-loss',
      title: 'the master balancer vanishes',
      run: 1,
      start: t0,
      end: takeover + 1600,
      outage: { outageMs: 0, failed: 0, requests: samples.length, probes: [{ user: r.users[0], samples }] },
      theory: { ms: r.backup.masterDownInterval * 1000, text: 'VRRP master-down interval' },
    },
    faults: [{ t: t0 - 500, done: t0 - 400, target: r.masterBridge, action: 'up' }, { t: fault, done: fault + 600, target: master, action: 'down' }, { t: takeover + 2000, done: takeover + 2100, target: master, action: 'up' }],
    live: [
      { seq: 4, t: fault + 150, kind: 'stp', key: `${r.masterBridge}/${masterPort}`, value: 'disabled', text: 'port' },
      // Seen 40 ms after the backup's first advert: the observer reads notifications a little late.
      { seq: 1, t: takeover + 40, kind: 'vip', key: r.group.name, value: [master, backup], text: 'vip' },
      { seq: 2, t: t0 - 50, kind: 'vip', key: r.group.name, value: [master], text: 'before the window' },
      { seq: 3, t: takeover + 10, kind: 'request', key: r.users[0], value: { user: r.users[0], ok: true }, text: 'not a state' },
    ],
    packets: [...adverts, { t: takeover + 6, kind: 'garp', source: vip, detail: vip }],
  });
}

test('the timeline keeps the run window, on one clock, sorted, with faults and packets named', () => {
  const t = balancerLoss();
  assert.is(t.zero, t.events.find((e) => e.kind === 'fault')!.t);
  assert.ok(t.events.every((e) => e.t >= t.window.start && e.t <= t.window.end), 'nothing outside the window (the heal after it is left out)');
  assert.equal(t.events.map((e) => e.t), [...t.events.map((e) => e.t)].sort((a, b) => a - b));
  assert.equal(t.events.filter((e) => e.kind === 'advert').map((e) => e.key), [master, master, master, master, backup]);
  assert.not.ok(t.events.some((e) => (e.kind as string) === 'request'), 'requests come from the probes, not LiveLab');
  // The master-down interval counts from the master's last advert.
  const lastAdvert = t.events.filter((e) => e.kind === 'advert' && e.key === master).shift()!.t + 3000;
  assert.equal(t.bands[0], { name: `master-down interval ${r.backup.masterDownInterval.toFixed(2)} s (from the last advert)`, from: lastAdvert, to: lastAdvert + r.backup.masterDownInterval * 1000 });
  assert.is(t.events.find((e) => e.kind === 'fault')!.until, t.zero + 600);
  assert.equal(t.events.filter((e) => e.kind === 'fault').map((e) => e.text), [`fault: ${master} down`], 'the lead keeps state, not the previous run\'s healing');
  assert.ok(t.events.some((e) => e.t < t.window.start + 2000), 'the lead keeps the steady state before the drill');
});

test('the balancer-loss explanation: its figures are the timeline\'s', () => {
  const t = balancerLoss();
  const text = explain(t, model);
  // Computed here from the events, independently of explain().
  // The takeover: the backup's first advert after the fault.
  const takeover = t.events.find((e) => e.kind === 'advert' && e.t >= t.zero && e.key === backup)!.t;
  const lastAdvert = t.events.filter((e) => e.kind === 'advert' && e.key === master && e.t <= takeover).pop()!.t;
  const advertBeforeFault = t.events.filter((e) => e.kind === 'advert' && e.key === master && e.t <= t.zero).pop()!.t;
  const firstOk = t.probes[0].samples.find((s) => s.ok && s.t > takeover)!.t;
  const vipSeen = t.events.find((e) => e.kind === 'vip' && e.t >= t.zero && (e.value as string[]).includes(backup))!.t;
  const failed = t.probes[0].samples.filter((s) => !s.ok);
  const back = t.probes[0].samples.find((s) => s.ok && s.t > failed[failed.length - 1].t)!.t;
  const m = /^(\S+) became master ([\d.]+) s after (\S+)'s last advert \(master-down interval ([\d.]+) s, the fault fell ([\d.]+) s after an advert\); first successful request (\d+) ms later\. The VIP was seen on \S+ ([\d.]+) s after the fault\. \S+ saw an outage of ([\d.]+) s \((\d+) failed requests?\)/.exec(text);
  assert.ok(m, text);
  assert.is(m![1], backup);
  assert.is(Number(m![2]), Number(((takeover - lastAdvert) / 1000).toFixed(2)));
  assert.is(m![3], master);
  assert.is(Number(m![4]), Number(r.backup.masterDownInterval.toFixed(2)));
  assert.is(Number(m![5]), Number(((t.zero - advertBeforeFault) / 1000).toFixed(2)));
  assert.is(Number(m![6]), firstOk - takeover);
  assert.is(Number(m![7]), Number(((vipSeen - t.zero) / 1000).toFixed(2)));
  assert.is(Number(m![8]), Number(((back - failed[0].t) / 1000).toFixed(2)));
  assert.is(Number(m![9]), failed.length);
  // The hand-built story: the takeover 3.41 s after the fault, which fell 0.2 s after an advert.
  assert.is(m![2], '3.61');
  assert.is(m![5], '0.20');
});

test('tshark fields become adverts and gratuitous ARPs; other lines are skipped', () => {
  const text = ['1700000000.123456789\t150\t172.16.1.250\t\t', '1700000001.5\t\t\t1\t172.16.1.254', '1700000002.0\t\t\t0\t172.16.1.100', '', 'junk'].join('\n');
  assert.equal(parsePackets(text), [
    { t: 1700000000123, kind: 'advert', source: '172.16.1.250', detail: '150' },
    { t: 1700000001500, kind: 'garp', source: '172.16.1.254', detail: '172.16.1.254' },
  ]);
});

const pngSize = (png: Buffer) => ({ width: png.readUInt32BE(16), height: png.readUInt32BE(20) });

test('the plot: an SVG and a PNG of the announced size, the same bytes for the same timeline', async () => {
  const t = balancerLoss();
  const size = plotSize(t);
  const a = await renderPlot(t);
  const b = await renderPlot(t);
  assert.ok(a.svg.startsWith('<svg'), a.svg.slice(0, 80));
  assert.match(a.svg, new RegExp(`^<svg[^>]* width="${size.width}" height="${size.height}"`));
  assert.ok(a.svg.trimEnd().endsWith('</svg>'));
  assert.equal([...a.png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.is(a.png.toString('latin1', 12, 16), 'IHDR');
  assert.equal(pngSize(a.png), { width: size.width * pngScale, height: size.height * pngScale });
  assert.is(a.svg, b.svg);
  assert.ok(a.png.equals(b.png));
  if (process.env.RECORD_PLOT_OUT) require('fs').writeFileSync(process.env.RECORD_PLOT_OUT, a.png);
});

test.run();
