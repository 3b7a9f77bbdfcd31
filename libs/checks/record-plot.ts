// The plot of one recorded drill run: a Vega-Lite chart (lanes: each probe's requests, VRRP
// adverts, the VIP's holders, STP ports, haproxy's verdicts, links, daemons; faults and VIP
// changes as rules across every lane; the theory's bounds as bands), drawn headless by Vega to
// SVG and by resvg to PNG. Same timeline, same bytes: no clock, no randomness, fonts named.
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { duration, type Timeline, type TimelineEvent } from './record';

export const plotWidth = 960;
const laneHeight = 26;
/** Axis, title, legend and band labels around the lanes. */
const chrome = 150;
export const pngScale = 2;

interface Lane {
  name: string;
  events: TimelineEvent[];
}

const theoryLane = 'theory';
const show = (v: unknown) => (Array.isArray(v) ? (v.length ? v.join(' + ') : 'nobody') : v === true ? 'up' : v === false ? 'down' : String(v));

/** The lanes, top to bottom, and what each shows: only keys that changed during the probes. */
function lanesOf(t: Timeline): Lane[] {
  const [from, to] = domainOf(t);
  const shown = t.events.filter((e) => e.t >= t.zero + from * 1000 && e.t <= t.zero + to * 1000);
  const lanes: Lane[] = [];
  const group = (name: (e: TimelineEvent) => string, kinds: string[]) => {
    for (const e of shown.filter((x) => kinds.includes(x.kind))) {
      const n = name(e);
      const lane = lanes.find((l) => l.name === n) ?? (lanes.push({ name: n, events: [] }), lanes[lanes.length - 1]);
      lane.events.push(e);
    }
  };
  group(() => 'faults', ['fault']);
  group((e) => `VIP ${e.key}`, ['vip']);
  group((e) => `adverts ${e.key}`, ['advert']);
  group(() => 'gratuitous ARP', ['garp']);
  group((e) => `STP ${e.key}`, ['stp']);
  group((e) => `root of ${e.key}`, ['root']);
  group((e) => `haproxy ${e.key.split('/')[0]} ${e.key.split('/').pop()}`, ['server']);
  group((e) => `link ${e.key}`, ['link']);
  group((e) => `${e.key}`, ['daemon']);
  return lanes;
}

/**
 * Seconds from the zero that the x axis spans: from just before the probes' first request to a
 * little after the story ends (the last failed request, band or labelled event), within the probes' time.
 */
function domainOf(t: Timeline): [number, number] {
  const times = t.probes.flatMap((p) => p.samples.map((s) => s.t));
  const firstSample = times.length ? Math.min(...times) : t.window.start;
  const lastSample = times.length ? Math.max(...times) : t.window.end;
  const story = [
    t.zero,
    ...t.probes.flatMap((p) => p.samples.filter((s) => !s.ok).map((s) => s.t)),
    ...t.bands.map((b) => b.to),
    ...t.events.filter((e) => e.kind !== 'advert' && e.kind !== 'garp' && e.t <= lastSample).map((e) => e.t),
  ];
  const first = Math.min(t.zero, firstSample) - 1500;
  const last = Math.max(t.zero, Math.min(lastSample, Math.max(...story) + 2500));
  return [Math.floor((first - t.zero) / 100) / 10, Math.ceil((last - t.zero) / 100) / 10];
}

/** The plot's size in CSS pixels (the SVG's width and height; the PNG is pngScale times that). */
export function plotSize(t: Timeline): { width: number; height: number } {
  return { width: plotWidth, height: chrome + laneHeight * (t.probes.length + lanesOf(t).length + (t.bands.length ? t.bands.length : 0)) };
}

/** The Vega-Lite spec of a timeline's plot. */
export function plotSpec(t: Timeline): TopLevelSpec {
  const { width, height } = plotSize(t);
  const rel = (ms: number) => Math.round(ms - t.zero) / 1000;
  const lanes = lanesOf(t);
  const laneNames = [...t.probes.map((p) => `requests ${p.user}`), ...lanes.map((l) => l.name), ...(t.bands.length ? [theoryLane] : [])];
  const [from, to] = domainOf(t);
  const requests = t.probes.flatMap((p) => p.samples.map((s) => ({ lane: `requests ${p.user}`, x: rel(s.t), result: s.ok ? 'ok' : 'failed' }))).filter((q) => q.x >= from && q.x <= to);
  // Labels closer than this to the lane's previous one join it ("nobody → bal2") rather than overprint it.
  const gap = (to - from) * 0.08;
  const events = lanes.flatMap((l) => {
    const rows: Array<{ lane: string; x: number; label: string; kind: string; pulse: boolean }> = [];
    let labelled: { x: number; label: string } | undefined;
    for (const e of l.events) {
      const x = rel(e.t);
      // Adverts and gratuitous ARPs are pulses: the lane's name says what they are.
      const pulse = e.kind === 'advert' || e.kind === 'garp';
      const text = pulse ? '' : e.kind === 'fault' ? `${e.key} ${show(e.value)}` : show(e.value);
      const row = { lane: l.name, x, label: text, kind: e.kind, pulse };
      if (text && labelled && x - labelled.x < gap) {
        labelled.label += ` → ${text}`;
        row.label = '';
      } else if (text) labelled = row;
      rows.push(row);
    }
    return rows;
  });
  const rules = t.events.filter((e) => e.kind === 'fault' || e.kind === 'vip').filter((e) => lanes.some((l) => l.events.includes(e))).map((e) => ({ x: rel(e.t), kind: e.kind === 'fault' ? 'fault' : 'VIP moved' }));
  // Everything is kept inside the x domain by its data: Vega's clipping would number its clip paths per process, and the same timeline must give the same SVG.
  const clamp = (v: number) => Math.min(to, Math.max(from, v));
  const bands = t.bands.map((b, i) => ({ x: clamp(rel(b.from)), x2: clamp(rel(b.to)), name: b.name, lane: theoryLane, dy: 12 * i - 6 * (t.bands.length - 1) }));
  const x = { field: 'x', type: 'quantitative' as const, title: `seconds from ${t.drill === 'partition-heal' ? 'the heal' : 'the fault'}`, scale: { domain: [from, to], nice: false } };
  const y = { field: 'lane', type: 'nominal' as const, title: null, sort: laneNames, scale: { domain: laneNames }, axis: { labelLimit: 260 } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    width,
    height,
    autosize: { type: 'fit', contains: 'padding' },
    padding: 8,
    background: 'white',
    title: {
      text: `${t.lab}: ${t.drill}, run ${t.run}`,
      subtitle: `${t.title}; outage ${duration(t.outage.ms)}, ${t.outage.failed} of ${t.outage.requests} requests failed (worst user); theory ${duration(t.theory.ms)}`,
      anchor: 'start',
    },
    config: { font: 'DejaVu Sans', view: { stroke: '#ccc' }, axis: { labelFontSize: 11, titleFontSize: 12 } },
    layer: [
      { data: { values: bands }, mark: { type: 'rect', opacity: 0.14, color: '#f58518' }, encoding: { x, x2: { field: 'x2' } } },
      {
        data: { values: bands },
        mark: { type: 'text', align: 'left', baseline: 'middle', dx: 3, fontSize: 10, color: '#b55d00' },
        encoding: { x, y, yOffset: { field: 'dy', type: 'quantitative', scale: null }, text: { field: 'name' } },
      },
      { data: { values: rules }, mark: { type: 'rule', strokeDash: [4, 3], strokeWidth: 1 }, encoding: { x, color: { field: 'kind', type: 'nominal', scale: { domain: ['fault', 'VIP moved'], range: ['#d62728', '#1f77b4'] }, legend: { title: null, orient: 'bottom' } } } },
      { data: { values: requests }, mark: { type: 'tick', thickness: 2, size: 18 }, encoding: { x, y, color: { field: 'result', type: 'nominal', scale: { domain: ['ok', 'failed'], range: ['#54a24b', '#e45756'] }, legend: { title: 'request', orient: 'bottom' } } } },
      { data: { values: events }, mark: { type: 'point', filled: true, color: '#333' }, encoding: { x, y, shape: { field: 'kind', type: 'nominal', legend: null }, size: { condition: { test: 'datum.pulse', value: 14 }, value: 45 } } },
      { data: { values: events }, mark: { type: 'text', align: 'left', dx: 5, dy: -7, fontSize: 9, color: '#333' }, encoding: { x, y, text: { field: 'label' } } },
    ],
    resolve: { scale: { color: 'independent' } },
  } as TopLevelSpec;
}

/** The plot as SVG text and PNG bytes. */
export async function renderPlot(t: Timeline): Promise<{ svg: string; png: Buffer }> {
  const view = new vega.View(vega.parse(compile(plotSpec(t)).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    const png = new Resvg(svg, { fitTo: { mode: 'zoom', value: pngScale }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
    return { svg, png };
  } finally {
    view.finalize();
  }
}
