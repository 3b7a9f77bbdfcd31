// The few system calls the twin makes: run a command and check it, run many from one shell,
// sleep, find files.
import { spawnSync, type SpawnSyncOptions } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { shellQuote } from '../targets/vagrant-ssh';

export class TwinError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TwinError';
  }
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function run(argv: string[], options: SpawnSyncOptions = {}): RunResult {
  const result = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 60_000, ...options });
  if (result.error) throw new TwinError(`${argv[0]}: ${result.error.message}`);
  return { status: result.status ?? 1, stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? '') };
}

/** Runs a command that must succeed; the error names the command and what it printed. */
export function must(argv: string[], options: SpawnSyncOptions = {}): string {
  const result = run(argv, options);
  if (result.status !== 0) throw new TwinError(`failed: ${argv.join(' ')}\n${(result.stderr || result.stdout).trim()}`);
  return result.stdout;
}

export interface BatchCommand {
  argv: string[];
  /** Append the command's output to this file and leave it running (a daemon, an init): no result is waited for. */
  detachTo?: string;
}

/**
 * Runs many commands from one shell: a lab of 60 containers needs hundreds of short commands to
 * come up, and each process started from this (large) process costs far more than one forked by
 * sh. `parallel` starts them all at once and waits for all. Each command's status and output, in
 * order (a detached command's are empty, status 0 once started).
 */
export function runBatch(commands: BatchCommand[], options: { parallel?: boolean; timeoutMs?: number } = {}): RunResult[] {
  if (commands.length === 0) return [];
  // In memory where there is a tmpfs: three small files per command.
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'lab-batch-'));
  try {
    const lines = commands.map(({ argv, detachTo }, i) => {
      const command = argv.map(shellQuote).join(' ');
      // setsid -f forks: the shell's `wait` does not wait for it.
      if (detachTo) return `setsid -f ${command} </dev/null >>${shellQuote(detachTo)} 2>&1`;
      const step = `${command} </dev/null >${dir}/${i}.out 2>${dir}/${i}.err; echo $? >${dir}/${i}.rc`;
      return options.parallel ? `{ ${step}; } &` : step;
    });
    must(['sh', '-c', `${lines.join('\n')}\nwait\n`], { timeout: options.timeoutMs ?? 120_000 });
    return commands.map(({ detachTo }, i) => {
      if (detachTo) return { status: 0, stdout: '', stderr: '' };
      const read = (ext: string) => readFileSync(join(dir, `${i}.${ext}`), 'utf8');
      return { status: Number(read('rc').trim()), stdout: read('out'), stderr: read('err') };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** runBatch, where every command must succeed; the error names the first that failed. */
export function mustBatch(commands: BatchCommand[], options: { parallel?: boolean } = {}): RunResult[] {
  const results = runBatch(commands, options);
  const failed = results.findIndex((r) => r.status !== 0);
  if (failed >= 0) throw new TwinError(`failed: ${commands[failed].argv.join(' ')}\n${(results[failed].stderr || results[failed].stdout).trim()}`);
  return results;
}

/** /proc/meminfo's MemAvailable, KiB: the kernel's memory counts too, and so does any other work on the machine. */
export function memAvailableKib(): number {
  return Number(/^MemAvailable:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]);
}

/** Those of `tools` that are not on PATH, from one shell. */
export function missingTools(tools: string[]): string[] {
  return run(['sh', '-c', 'for t; do command -v "$t" >/dev/null || echo "$t"; done', 'missing', ...tools]).stdout.split('\n').filter(Boolean);
}

/** True while a process exists and is not a zombie. */
export function running(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0] !== 'Z';
  } catch {
    return false;
  }
}

/** Waits without giving up the thread (no process started for it), for code that is synchronous by nature. */
export function pauseSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
