// Commands on Vagrant's VMs over plain ssh: one `vagrant ssh-config` for the whole lab, then one
// shared connection per VM (ControlMaster). `vagrant ssh -c` starts Vagrant for every command
// (2.5–2.9 s each under emulation), far too slow for probe loops; a shared connection costs a
// few milliseconds.
import { createHash } from 'crypto';
import { mkdirSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import type { ExecResult, Runner } from './driver';

export const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Idle shared connections close by themselves after this many seconds. */
const persistSeconds = 60;

/**
 * Runs `command` as root on a VM of the Vagrant lab in `dir` (`run`), or gives the ssh argv that
 * does (`argv`, for a command read as it runs). The ssh configuration is read once, on the first
 * call, into a folder of this machine's temp dir named after the lab folder (so two labs never
 * share sockets).
 */
export function vagrantSsh(dir: string, runner: Runner): { run(vm: string, command: string): ExecResult; argv(vm: string, command: string): string[] } {
  let config: string | undefined;
  const sockets = join(tmpdir(), `lab-ssh-${createHash('sha256').update(resolve(dir)).digest('hex').slice(0, 12)}`);
  const sshConfig = () => {
    if (config) return config;
    const r = runner(['vagrant', 'ssh-config'], dir);
    if (r.status !== 0) throw new Error(`vagrant ssh-config in ${dir} failed: ${(r.stderr || r.stdout).trim()} (is the lab up? vagrant status)`);
    mkdirSync(sockets, { recursive: true, mode: 0o700 });
    config = join(sockets, 'config');
    writeFileSync(config, r.stdout, { mode: 0o600 });
    return config;
  };
  const argv = (vm: string, command: string) => [
    'ssh', '-F', sshConfig(),
    '-o', 'ControlMaster=auto', '-o', `ControlPath=${join(sockets, '%C')}`, '-o', `ControlPersist=${persistSeconds}`,
    '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=20',
    vm, `sudo sh -c ${shellQuote(command)}`,
  ];
  return { argv, run: (vm, command) => runner(argv(vm, command), dir) };
}
