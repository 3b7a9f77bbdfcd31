// A long-running command on this machine, read line by line: the twin's monitors and probe
// loops (through nsenter), and the Vagrant target's probe loops (through ssh).
import { spawn, type ChildProcess } from 'child_process';
import type { LineStream } from './events';

/** Runs argv and hands each line of its stdout to `onLine`; stop() ends it (SIGTERM). */
export function streamLines(argv: string[], onLine: (line: string) => void, cwd?: string): LineStream & { child: ChildProcess } {
  const child = spawn(argv[0], argv.slice(1), { cwd, stdio: ['ignore', 'pipe', 'ignore'] });
  let rest = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    for (const line of lines) onLine(line);
  });
  child.on('error', () => undefined);
  return { child, stop: () => void child.kill('SIGTERM') };
}
