// Commands on the lab's VMs over plain ssh, one shared connection per VM (ControlMaster). Vagrant's
// VMs are reached through one `vagrant ssh-config` for the whole lab (vagrantSsh); real hosts
// through an Ansible inventory (ssh-driver.ts gives sharedSsh their options). `vagrant ssh -c`
// starts Vagrant for every command (2.5–2.9 s each under emulation), far too slow for probe
// loops; a shared connection costs a few milliseconds.
import { createHash } from 'crypto';
import { mkdirSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import type { ExecResult, Runner } from './driver';

export const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Idle shared connections close by themselves after this many seconds. */
const persistSeconds = 60;

/** How ssh reaches one VM: options before the destination, the destination, and whether to sudo. */
export interface SshHost {
  options: string[];
  destination: string;
  /** false when the login is root already. */
  sudo: boolean;
}

export interface SharedSsh {
  /** Runs `command` as root on `vm`. */
  run(vm: string, command: string): ExecResult;
  /** The ssh argv that does, for a command read as it runs. */
  argv(vm: string, command: string): string[];
}

/**
 * Runs commands as root on the VMs `hostOf` describes, one shared connection per VM, their sockets
 * in a folder of this machine's temp dir named after `key` (so two labs never share sockets).
 * `sockets` is created on first use; `hostOf` may throw (a VM it cannot reach).
 */
export function sharedSsh(key: string, hostOf: (vm: string, sockets: string) => SshHost, runner: Runner, cwd: string): SharedSsh {
  const sockets = join(tmpdir(), `lab-ssh-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`);
  const argv = (vm: string, command: string) => {
    const host = hostOf(vm, sockets);
    mkdirSync(sockets, { recursive: true, mode: 0o700 });
    return [
      'ssh', ...host.options,
      '-o', 'ControlMaster=auto', '-o', `ControlPath=${join(sockets, '%C')}`, '-o', `ControlPersist=${persistSeconds}`,
      '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=20',
      host.destination, `${host.sudo ? 'sudo ' : ''}sh -c ${shellQuote(command)}`,
    ];
  };
  return { argv, run: (vm, command) => runner(argv(vm, command), cwd) };
}

/**
 * Runs `command` as root on a VM of the Vagrant lab in `dir`. The ssh configuration is read once,
 * on the first call, into the sockets folder.
 */
export function vagrantSsh(dir: string, runner: Runner): SharedSsh {
  let config: string | undefined;
  const sshConfig = (sockets: string) => {
    if (config) return config;
    const r = runner(['vagrant', 'ssh-config'], dir);
    if (r.status !== 0) throw new Error(`vagrant ssh-config in ${dir} failed: ${(r.stderr || r.stdout).trim()} (is the lab up? vagrant status)`);
    mkdirSync(sockets, { recursive: true, mode: 0o700 });
    config = join(sockets, 'config');
    writeFileSync(config, r.stdout, { mode: 0o600 });
    return config;
  };
  return sharedSsh(resolve(dir), (vm, sockets) => ({ options: ['-F', sshConfig(sockets)], destination: vm, sudo: true }), runner, dir);
}
