// Outage measurement: a bounded loop on a user node does an HTTP GET every 50 ms with a short
// timeout and logs start time and result; outage = first failure to first success after the
// last failure. The fine probe (intervalMs below 50) starts a request every intervalMs without
// waiting for the one before: while the service is down the plain loop waits out each timeout,
// so its first success after an outage can come a whole timeout late.
import type { Driver } from '../targets/driver';
import { shellQuote } from '../targets/vagrant-ssh';

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
    .map((m) => ({ t: Number(m[1]), ok: m[2] === 'ok' }))
    // The fine probe logs each request when it ends: in the order of their starts again.
    .sort((a, b) => a.t - b.t);
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
  /** Below 50: the fine probe, overlapping requests (python3 on the user node, else the plain loop). */
  intervalMs?: number;
  timeoutS?: number;
  /** Hard bound on the number of requests: the loop always ends by itself. */
  maxRequests?: number;
}

let counter = 0;

/**
 * The fine probe: one python3 process on the user node starts a GET every `interval` seconds,
 * each on its own connection with its own timeout, and logs "<start ms> ok|fail" as each ends;
 * it stops at the stop file or after `max` requests and then writes the done file.
 */
const fineProbe = (url: string, interval: number, timeout: number, max: number, f: string) => {
  const u = new URL(url);
  const script = [
    'import asyncio, os, time',
    `host, port, path = ${JSON.stringify(u.hostname)}, ${Number(u.port || 80)}, ${JSON.stringify(u.pathname + u.search)}`,
    `log = open(${JSON.stringify(`${f}.log`)}, "a", buffering=1)`,
    'async def get(t0):',
    '    async def talk():',
    '        r, w = await asyncio.open_connection(host, port)',
    '        w.write(("GET %s HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n" % (path, host)).encode())',
    '        data = await r.read()',
    '        w.close()',
    '        return data.split(b"\\r\\n", 1)[0].split(b" ")[1:2] == [b"200"]',
    '    try:',
    `        ok = await asyncio.wait_for(talk(), ${timeout})`,
    '    except Exception:',
    '        ok = False',
    '    log.write("%d %s\\n" % (t0, "ok" if ok else "fail"))',
    'async def main():',
    '    tasks, start = [], time.monotonic()',
    `    for i in range(${max}):`,
    `        if os.path.exists(${JSON.stringify(`${f}.stop`)}): break`,
    '        tasks.append(asyncio.ensure_future(get(int(time.time() * 1000))))',
    `        await asyncio.sleep(max(0, start + (i + 1) * ${interval} - time.monotonic()))`,
    '    await asyncio.gather(*tasks)',
    'asyncio.run(main())',
  ].join('\n');
  return `python3 -c ${shellQuote(script)}`;
};

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
    const plain = [
      'i=0',
      `while [ $i -lt ${max} ] && [ ! -e ${f}.stop ]; do`,
      '  t=$(date +%s%3N)',
      `  if curl -s -o /dev/null -m ${timeout} ${url}; then echo "$t ok"; else echo "$t fail"; fi >> ${f}.log`,
      `  sleep ${interval}`,
      '  i=$((i+1))',
      'done',
    ].join('\n');
    const loop = interval < 0.05 ? `if command -v python3 >/dev/null; then ${fineProbe(url, interval, timeout, max, f)}; else ${plain}; fi` : plain;
    const script = `rm -f ${f}.log ${f}.stop ${f}.done\n${loop}\ntouch ${f}.done`;
    const started = driver.exec(user, `nohup sh -c ${shellQuote(script)} >/dev/null 2>&1 &`);
    if (started.status !== 0) throw new Error(`probe on ${user} did not start: ${started.stderr}`);
    // Measuring starts with the first answer: python3 alone takes a few hundred ms to start, and
    // a fault injected before it would fall outside the measurement (bounded: 5 s).
    driver.exec(user, `i=0; while [ ! -s ${f}.log ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done`);
  }

  /** Stops the loop, returns its samples and removes its files. */
  stop(): Sample[] {
    const f = this.file;
    this.driver.exec(this.user, `touch ${f}.stop; i=0; while [ ! -e ${f}.done ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done`);
    const log = this.driver.exec(this.user, `cat ${f}.log 2>/dev/null; rm -f ${f}.log ${f}.stop ${f}.done`).stdout;
    return parseProbeLog(log);
  }
}
