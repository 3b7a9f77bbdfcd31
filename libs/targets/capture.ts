// Packet capture on a node of a running lab, as a byte stream: tcpdump writes pcap to its stdout
// (`-U`: a packet is written as soon as it is captured) and the bytes go to a Writable of the
// caller (a file, this process's stdout piped into `wireshark -k -i -`, a buffer). The drivers
// say how tcpdump is started on a node (twin-driver.ts: in the node's namespace on this machine;
// vagrant-driver.ts: over ssh, `lxc exec` for a container); this file runs the process and makes
// sure it ends.
import { spawn } from 'child_process';
import type { Writable } from 'stream';
import { shellQuote } from './vagrant-ssh';

export interface CaptureOptions {
  /** A pcap-filter expression (tcpdump's syntax), e.g. `vrrp or arp or stp`; all traffic when absent. */
  filter?: string;
  /** Ends the capture by itself after this many seconds. */
  seconds?: number;
}

export interface CaptureEnd {
  /** Bytes of pcap written to the output (the 24-byte file header included). */
  bytes: number;
  /** Why it ended: stop() was called, `seconds` elapsed, the output closed (EPIPE), or tcpdump exited by itself. */
  reason: 'stopped' | 'time' | 'output-closed' | 'exited';
}

/**
 * A capture under way. Whatever ends it, the tcpdump on the node is gone once `done` settles
 * (stop() sends SIGTERM, so tcpdump flushes its last packet, then SIGKILL after 2 s). `done`
 * rejects when tcpdump fails on its own (no such interface, bad filter), with what it said.
 */
export interface Capture {
  stop(): Promise<CaptureEnd>;
  done: Promise<CaptureEnd>;
}

/** The tcpdump argv that writes pcap to stdout. `-Z root`: no drop to the tcpdump user, which would clear the parent-death signal. */
export function tcpdumpArgv(ifname: string, options: CaptureOptions = {}): string[] {
  return ['tcpdump', '-i', ifname, '-U', '-w', '-', '-Z', 'root', '-n', ...(options.filter ? [options.filter] : [])];
}


/**
 * The shell commands that capture on a remote node (over ssh, where a closed channel ends tcpdump
 * only at its next write, never on a quiet interface): `start` runs tcpdump with its pid in
 * `pidFile` (bounded by `timeout` even if this machine vanishes), `stop` kills it by that pid.
 */
export function remoteCapture(ifname: string, options: CaptureOptions, pidFile: string): { start: string; stop: string } {
  const bound = Math.ceil(options.seconds ?? 24 * 3600) + 30;
  const tcpdump = tcpdumpArgv(ifname, options).map(shellQuote).join(' ');
  return {
    start: `timeout ${bound} ${tcpdump} & echo $! > ${pidFile}; wait $!`,
    stop: `[ -f ${pidFile} ] && kill $(cat ${pidFile}) 2>/dev/null; rm -f ${pidFile}; true`,
  };
}

/**
 * Runs a capture process (argv prints pcap on stdout) into `out`, which it never ends (the caller
 * owns it). `cleanup` runs once after the process ended (the Vagrant driver kills the remote
 * tcpdump there, which a closed ssh channel does not stop on a quiet interface).
 */
export function spawnCapture(argv: string[], out: Writable, options: CaptureOptions & { cwd?: string; cleanup?: () => void } = {}): Capture {
  const child = spawn(argv[0], argv.slice(1), { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let bytes = 0;
  let reason: CaptureEnd['reason'] | undefined;
  let stderr = '';
  let timer: NodeJS.Timeout | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const end = (why: CaptureEnd['reason']) => {
    reason ??= why;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    killTimer ??= setTimeout(() => child.kill('SIGKILL'), 2000);
  };
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    stderr = (stderr + text).slice(-4000);
  });
  child.stdout!.on('data', (chunk: Buffer) => {
    if (reason === 'output-closed') return;
    bytes += chunk.length;
    // Backpressure: a slow reader (wireshark) pauses tcpdump's pipe rather than this process's memory.
    if (!out.write(chunk)) {
      child.stdout!.pause();
      out.once('drain', () => child.stdout!.resume());
    }
  });
  const onOutputError = () => end('output-closed');
  out.on('error', onOutputError);
  if (options.seconds !== undefined) timer = setTimeout(() => end('time'), options.seconds * 1000);
  const done = new Promise<CaptureEnd>((resolvePromise, reject) => {
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(killTimer);
      out.off('error', onOutputError);
      try {
        options.cleanup?.();
      } catch {
        // Best effort: the process itself is gone.
      }
      if (error) reject(error);
      else resolvePromise({ bytes, reason: reason ?? 'exited' });
    };
    child.on('error', (error) => finish(new Error(`${argv[0]}: ${error.message}`)));
    // 'close': the process has exited and its stdout is drained into `out`.
    child.on('close', (code) => {
      if (reason === undefined && code !== 0) {
        const said = stderr.split('\n').filter((l) => l && !/^(listening on|tcpdump: verbose output suppressed)/.test(l)).join('; ');
        finish(new Error(`tcpdump failed (exit ${code}): ${said || 'no message'}`));
      } else finish();
    });
  });
  // A caller that never looks at `done` must not see an unhandled rejection.
  done.catch(() => undefined);
  return {
    done,
    stop: () => {
      end('stopped');
      return done;
    },
  };
}
