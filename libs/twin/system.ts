// The few system calls the twin makes: run a command and check it, sleep, find files.
import { spawnSync, type SpawnSyncOptions } from 'child_process';

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

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
