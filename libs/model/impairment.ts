// A link's impairment (`twin fault <link> --delay 100 --jitter 10 --loss 5 --rate 1mbit`): what
// netem does, read and checked once for every driver. Pure.

export interface Impairment {
  /** Added to every frame, each direction, in milliseconds. */
  delayMs: number;
  /** ± this many milliseconds around the delay (uniform), 0 for none. */
  jitterMs: number;
  /** Frames dropped at random, per cent, each direction. */
  lossPercent: number;
  /** The cable's speed in bits per second, each direction; null for unlimited. */
  rateBps: number | null;
  /** The rate as the user wrote it (tc's notation), for messages and tc itself. */
  rateText: string | null;
}

export interface ImpairmentOptions {
  delay?: number;
  jitter?: number;
  loss?: number;
  rate?: string;
}

/** True when any impairment option was given. */
export const wantsImpairment = (o: ImpairmentOptions) => o.delay !== undefined || o.jitter !== undefined || o.loss !== undefined || o.rate !== undefined;

// tc's units (tc(8), "RATES"): bits or bytes per second, with k/m/g/t prefixes.
const rateUnits: Record<string, number> = {
  bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9, tbit: 1e12,
  bps: 8, kbps: 8e3, mbps: 8e6, gbps: 8e9, tbps: 8e12,
};

/** A rate in tc's notation (`1mbit`, `512kbit`, `10mbps`) as bits per second, or an Error. */
export function parseRate(text: string): number | Error {
  const m = /^(\d+(?:\.\d+)?)([a-z]+)$/i.exec(text.trim());
  const unit = m ? rateUnits[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    return new Error(`--rate ${text}: give a number and a unit as tc writes it, e.g. 1mbit, 512kbit, 10mbps (units: ${Object.keys(rateUnits).join(', ')})`);
  }
  const bps = Number(m[1]) * unit;
  // Below 8 bit/s a single frame would take hours: certainly a typo.
  if (bps < 8) return new Error(`--rate ${text}: at least 8bit (one byte a second)`);
  return bps;
}

/** The impairment the options describe, or an Error naming the offending value and the valid range. */
export function impairmentOf(o: ImpairmentOptions): Impairment | Error {
  const number = (flag: string, value: number | undefined, max: number, unit: string): number | Error => {
    if (value === undefined) return 0;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max) {
      return new Error(`--${flag} ${value}: give ${unit} from 0 to ${max}`);
    }
    return value;
  };
  const delayMs = number('delay', o.delay, 60_000, 'milliseconds');
  if (delayMs instanceof Error) return delayMs;
  const jitterMs = number('jitter', o.jitter, 60_000, 'milliseconds');
  if (jitterMs instanceof Error) return jitterMs;
  if (jitterMs > delayMs) return new Error(`--jitter ${jitterMs} is larger than --delay ${delayMs}: jitter is ± around the delay, so it cannot exceed it`);
  const lossPercent = number('loss', o.loss, 100, 'a percentage');
  if (lossPercent instanceof Error) return lossPercent;
  let rateBps: number | null = null;
  if (o.rate !== undefined) {
    const r = parseRate(String(o.rate));
    if (r instanceof Error) return r;
    rateBps = r;
  }
  if (delayMs === 0 && lossPercent === 0 && rateBps === null) return new Error('an impairment needs --delay, --loss or --rate above 0 (`up` removes one)');
  return { delayMs, jitterMs, lossPercent, rateBps, rateText: o.rate === undefined ? null : String(o.rate).trim().toLowerCase() };
}

/** netem's arguments for `tc qdisc replace dev IF root netem …`. */
export function netemArgs(i: Impairment): string[] {
  return [
    ...(i.delayMs > 0 ? ['delay', `${i.delayMs}ms`, ...(i.jitterMs > 0 ? [`${i.jitterMs}ms`] : [])] : []),
    ...(i.lossPercent > 0 ? ['loss', `${i.lossPercent}%`] : []),
    ...(i.rateText ? ['rate', i.rateText] : []),
  ];
}

/** "delay 100 ms ± 10 ms, loss 5%, rate 1mbit" */
export function describeImpairment(i: Impairment): string {
  const parts = [
    ...(i.delayMs > 0 ? [`delay ${i.delayMs} ms${i.jitterMs > 0 ? ` ± ${i.jitterMs} ms` : ''}`] : []),
    ...(i.lossPercent > 0 ? [`loss ${i.lossPercent}%`] : []),
    ...(i.rateText ? [`rate ${i.rateText}`] : []),
  ];
  return parts.join(', ');
}
