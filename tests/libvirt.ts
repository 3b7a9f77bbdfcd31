// Helpers for tests that run a real `vagrant up --provider libvirt` on this machine: a private
// libvirt in a network namespace of the test's own (vagrant/libvirt/libvirt-ns.sh) and the
// lab/debian-12 box (vagrant/libvirt/build-box.sh, cached). Needs root. Everything Vagrant does
// must run inside the namespace (inNs), since libvirt's management network lives there.
//
//   await withLibvirt('mytest', async (ns) => {
//     const up = await inNs(ns, ['vagrant', 'up', '--provider', 'libvirt'], { cwd: labDir, env: labEnv, timeoutMs: 900_000 });
//     ...
//   });
import { spawn, spawnSync } from 'child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { root } from './helpers';

export const libvirtDir = join(root, 'vagrant', 'libvirt');
const nsScript = join(libvirtDir, 'libvirt-ns.sh');
const boxScript = join(libvirtDir, 'build-box.sh');
/** Where libvirt-ns.sh keeps each namespace's libvirt (LAB_LIBVIRT_STATE overrides). */
export const stateRoot = process.env.LAB_LIBVIRT_STATE || '/var/lib/lab-libvirt';

export const boxName = 'lab/debian-12';
/** Vagrant inside the namespace has no network: it must not look for updates. */
export const vagrantEnv: Record<string, string> = {
  VAGRANT_CHECKPOINT_DISABLE: '1',
  VAGRANT_BOX_UPDATE_CHECK_DISABLE: '1',
  VAGRANT_DEFAULT_PROVIDER: 'libvirt',
};
/** What a generated lab's Vagrantfile needs to run every VM on our box under qemu's emulated CPU. */
export const labEnv: Record<string, string> = { LAB_BOX: boxName, LAB_LIBVIRT_EMULATE: '1' };

/** The network namespace (and libvirt state folder) of a test called `name`. */
export function nsName(name: string): string {
  return `lablv-${name}`;
}

/** The argv that runs `argv` inside the namespace, for callers that spawn it themselves. */
export function nsArgv(ns: string, argv: string[]): string[] {
  return ['bash', nsScript, 'exec', ns, ...argv];
}

export interface RunOptions {
  cwd?: string;
  /** Added to process.env and vagrantEnv. */
  env?: Record<string, string>;
  /** Then the command and everything it started get SIGTERM, and SIGKILL 5 s later. */
  timeoutMs?: number;
  input?: string;
  /** Each line of stdout and stderr as it comes (for progress in long runs). */
  onLine?: (line: string) => void;
}

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
  timedOut: boolean;
}

/** Runs argv inside the namespace (its network and mount namespaces). Never rejects. */
export function inNs(ns: string, argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  const [cmd, ...args] = nsArgv(ns, argv);
  // Its own process group, so a timeout also stops what it started (vagrant's ssh, for one).
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...vagrantEnv, ...opts.env },
    detached: true,
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  const lines = (buffer: { rest: string }, chunk: string) => {
    if (!opts.onLine) return;
    const parts = (buffer.rest + chunk).split('\n');
    buffer.rest = parts.pop() ?? '';
    for (const line of parts) opts.onLine(line);
  };
  const outRest = { rest: '' };
  const errRest = { rest: '' };
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    lines(outRest, chunk);
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    lines(errRest, chunk);
  });
  if (opts.input !== undefined) child.stdin!.end(opts.input);
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  let hard: NodeJS.Timeout | undefined;
  const soft = opts.timeoutMs
    ? setTimeout(() => {
        timedOut = true;
        killGroup('SIGTERM');
        hard = setTimeout(() => killGroup('SIGKILL'), 5000);
      }, opts.timeoutMs)
    : undefined;
  return new Promise((resolve) => {
    child.on('error', (error) => {
      stderr += String(error);
    });
    child.on('close', (status, signal) => {
      clearTimeout(soft);
      clearTimeout(hard);
      if (opts.onLine) for (const rest of [outRest.rest, errRest.rest]) if (rest) opts.onLine(rest);
      resolve({ status, signal, stdout, stderr, seconds: (Date.now() - started) / 1000, timedOut });
    });
  });
}

/** inNs for short commands, blocking (virsh, ip, cat). */
export function inNsSync(ns: string, argv: string[], opts: { cwd?: string; timeoutMs?: number } = {}): RunResult {
  const started = Date.now();
  const [cmd, ...args] = nsArgv(ns, argv);
  const run = spawnSync(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...vagrantEnv }, encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000 });
  return {
    status: run.status,
    signal: run.signal,
    stdout: run.stdout ?? '',
    stderr: (run.stderr ?? '') + (run.error ? String(run.error) : ''),
    seconds: (Date.now() - started) / 1000,
    timedOut: run.error !== undefined && (run.error as NodeJS.ErrnoException).code === 'ETIMEDOUT',
  };
}

/** Root and the Debian packages a real libvirt run needs; throws naming what is missing. */
export function checkLibvirtHost(): void {
  if (process.getuid?.() !== 0) throw new Error('libvirt tests need root (namespaces, mounts, libvirtd, debootstrap)');
  const tools: Record<string, string> = {
    vagrant: 'vagrant', libvirtd: 'libvirt-daemon-system', virsh: 'libvirt-clients', 'qemu-system-x86_64': 'qemu-system-x86',
    'qemu-img': 'qemu-utils', debootstrap: 'debootstrap', dnsmasq: 'dnsmasq-base', iptables: 'iptables', sfdisk: 'fdisk',
    'grub-mkimage': 'grub-pc-bin', mke2fs: 'e2fsprogs', nsenter: 'util-linux',
  };
  const path = (process.env.PATH || '').split(':').concat(['/usr/sbin', '/sbin']);
  const missing = Object.keys(tools).filter((t) => !path.some((dir) => existsSync(join(dir, t))));
  const specs = '/usr/share/rubygems-integration/all/specifications';
  const hasPlugin = existsSync(specs) && readdirSync(specs).some((f) => f.startsWith('vagrant-libvirt-'));
  const packages = missing.map((t) => tools[t]).concat(hasPlugin ? [] : ['vagrant-libvirt']);
  if (packages.length) throw new Error(`libvirt tests need these Debian packages: ${[...new Set(packages)].join(' ')}`);
}

/** Builds lab/debian-12 if its cache misses and adds it to Vagrant if needed; returns the box file. */
export function ensureBox(): string {
  // The build's progress goes to our stderr as it comes (a cold build takes a minute or two).
  const run = spawnSync('bash', [boxScript], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 30 * 60_000 });
  if (run.status !== 0) throw new Error(`build-box.sh failed (status ${run.status}, ${run.signal ?? 'no signal'})`);
  return run.stdout.trim().split('\n').pop()!;
}

/** Starts the namespace and its libvirt, after removing whatever a crashed run left under that name. */
export function startLibvirt(name: string): string {
  const ns = nsName(name);
  stopLibvirt(ns);
  const run = spawnSync('bash', [nsScript, 'start', ns], { encoding: 'utf8', timeout: 120_000 });
  if (run.status !== 0) throw new Error(`libvirt-ns.sh start ${ns} failed: ${run.stderr}`);
  return ns;
}

/** Removes every VM, libvirt object, process, mount and the namespace itself. Idempotent. */
export function stopLibvirt(ns: string): void {
  const run = spawnSync('bash', [nsScript, 'stop', ns], { encoding: 'utf8', timeout: 180_000 });
  if (run.status !== 0) throw new Error(`libvirt-ns.sh stop ${ns} failed: ${run.stderr}`);
}

/** What of the namespace is still on the machine: empty after a clean stop. */
export function libvirtLeftovers(ns: string): string[] {
  const left: string[] = [];
  const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(' ')[0]);
  if (netns.includes(ns)) left.push(`network namespace ${ns}`);
  if (existsSync(join(stateRoot, ns))) left.push(`state folder ${join(stateRoot, ns)}`);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(`${stateRoot}/${ns}`));
  left.push(...mounts.map((m) => `mount ${m.split(' ')[4]}`));
  return left;
}

/** Domains of the namespace's libvirt (running or not). */
export function domains(ns: string): string[] {
  const run = inNsSync(ns, ['virsh', '-q', '-c', 'qemu:///system', 'list', '--all', '--name']);
  if (run.status !== 0) throw new Error(`virsh list failed: ${run.stderr}`);
  return run.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** Writes `vagrant ssh-config` of the project in `cwd` to a file: `ssh -F` costs 0.2 s a call, `vagrant ssh` 2.5 s. */
export async function sshConfig(ns: string, cwd: string): Promise<string> {
  const run = await inNs(ns, ['vagrant', 'ssh-config'], { cwd, timeoutMs: 120_000 });
  if (run.status !== 0) throw new Error(`vagrant ssh-config failed: ${run.stderr}`);
  const file = join(cwd, '.vagrant', 'ssh-config');
  writeFileSync(file, run.stdout);
  return file;
}

/** Runs a shell command on a VM through ssh -F (see sshConfig), inside the namespace. */
export function sshRun(ns: string, config: string, host: string, command: string, timeoutMs = 60_000): Promise<RunResult> {
  return inNs(ns, ['ssh', '-F', config, '-o', 'ConnectTimeout=10', '-o', 'BatchMode=yes', host, command], { timeoutMs });
}

/**
 * Runs `body` with a private libvirt in its own network namespace and the box ready: checks the
 * host, builds/adds the box (cached), starts the namespace and daemons, and always stops and cleans
 * afterwards, also when the body throws or the test process exits early.
 */
export async function withLibvirt<T>(name: string, body: (ns: string) => Promise<T>, opts: { box?: boolean } = {}): Promise<T> {
  checkLibvirtHost();
  if (opts.box !== false) ensureBox();
  const ns = startLibvirt(name);
  const onExit = () => spawnSync('bash', [nsScript, 'stop', ns], { timeout: 180_000 });
  process.on('exit', onExit);
  try {
    return await body(ns);
  } finally {
    process.removeListener('exit', onExit);
    stopLibvirt(ns);
  }
}
