// Outage measurement: a bounded loop on a user node does an HTTP GET every 50 ms with a short
// timeout and logs start time and result; outage = first failure to first success after the
// last failure.
import type { Driver } from '../targets/driver';

export interface Sample {
  /** Start of the request, ms since the epoch, on the user node's clock. */
  t: number;
  ok: boolean;
}

export interface Outage {
  outageMs: number;
  failed: number;
  requests: number;
}

export function parseProbeLog(text: string): Sample[] {
  return text
    .split('\n')
    .map((line) => /^(\d+) (ok|fail)$/.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ t: Number(m[1]), ok: m[2] === 'ok' }));
}

export function outageOf(samples: Sample[]): Outage {
  const failures = samples.filter((s) => !s.ok);
  if (failures.length === 0) return { outageMs: 0, failed: 0, requests: samples.length };
  const last = failures[failures.length - 1];
  const back = samples.find((s) => s.ok && s.t > last.t);
  // Never back within the probe: the outage lasts at least to the end of the probe.
  const end = back ? back.t : last.t;
  return { outageMs: end - failures[0].t, failed: failures.length, requests: samples.length };
}

export interface ProbeOptions {
  intervalMs?: number;
  timeoutS?: number;
  /** Hard bound on the number of requests: the loop always ends by itself. */
  maxRequests?: number;
}

let counter = 0;

/** A probe loop running on a user node until stopped (or its bound is reached). */
export class Probe {
  private readonly file: string;

  constructor(
    private readonly driver: Driver,
    readonly user: string,
    url: string,
    options: ProbeOptions = {},
  ) {
    const interval = (options.intervalMs ?? 50) / 1000;
    // Short: a request lost to a dead balancer must not hide the moment the service returns.
    const timeout = options.timeoutS ?? 0.2;
    const max = options.maxRequests ?? 3000;
    this.file = `/tmp/lab-probe-${driver.model.name}-${user}-${process.pid}-${++counter}`;
    const f = this.file;
    const loop = [
      `rm -f ${f}.log ${f}.stop ${f}.done`,
      'i=0',
      `while [ $i -lt ${max} ] && [ ! -e ${f}.stop ]; do`,
      '  t=$(date +%s%3N)',
      `  if curl -s -o /dev/null -m ${timeout} ${url}; then echo "$t ok"; else echo "$t fail"; fi >> ${f}.log`,
      `  sleep ${interval}`,
      '  i=$((i+1))',
      'done',
      `touch ${f}.done`,
    ].join('\n');
    const started = driver.exec(user, `nohup sh -c '${loop}' >/dev/null 2>&1 &`);
    if (started.status !== 0) throw new Error(`probe on ${user} did not start: ${started.stderr}`);
  }

  /** Stops the loop, returns its samples and removes its files. */
  stop(): Sample[] {
    const f = this.file;
    this.driver.exec(this.user, `touch ${f}.stop; i=0; while [ ! -e ${f}.done ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done`);
    const log = this.driver.exec(this.user, `cat ${f}.log 2>/dev/null; rm -f ${f}.log ${f}.stop ${f}.done`).stdout;
    return parseProbeLog(log);
  }
}
