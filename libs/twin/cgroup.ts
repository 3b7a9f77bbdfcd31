// Twin only: one CPU cgroup per container, so a container can be given a CPU quota (a server that
// behaves like its own small machine, as LXD's `limits.cpu.allowance` makes it in the real lab)
// and its CPU time read. Under a lab-owned parent: /sys/fs/cgroup/<controller>/lab-twin/<lab>/
// <container> on cgroup v1 (the cpu and cpuacct hierarchies, separate or co-mounted), or
// /sys/fs/cgroup/lab-twin/<lab>/<container> on cgroup v2 (cpu.max, cpu.stat).
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { pauseSync, TwinError } from './system';

const root = '/sys/fs/cgroup';
const parentName = 'lab-twin';
/** CFS period: quota = cores × period. */
const periodUs = 100_000;

type Layout = { version: 1; cpu: string; cpuacct: string } | { version: 2; root: string };

/** How this machine mounts the CPU controller; null when it has none we can use. */
export function cgroupLayout(): Layout | null {
  if (existsSync(join(root, 'cpu', 'cpu.cfs_quota_us'))) {
    const acct = existsSync(join(root, 'cpuacct', 'cpuacct.usage')) ? join(root, 'cpuacct') : join(root, 'cpu');
    return { version: 1, cpu: realpathSync(join(root, 'cpu')), cpuacct: realpathSync(acct) };
  }
  const controllers = join(root, 'cgroup.controllers');
  if (existsSync(controllers) && readFileSync(controllers, 'utf8').split(/\s+/).includes('cpu')) return { version: 2, root };
  return null;
}

/** The hierarchies a container's processes join (one on v2; one or two on v1). */
function hierarchies(layout: Layout): string[] {
  return layout.version === 2 ? [layout.root] : [...new Set([layout.cpu, layout.cpuacct])];
}

const labDirs = (layout: Layout, lab: string) => hierarchies(layout).map((h) => join(h, parentName, lab));
const containerDirs = (layout: Layout, lab: string, container: string) => labDirs(layout, lab).map((d) => join(d, container));

/** On v2 a child sees the cpu controller only when every ancestor enables it for its children. */
function enableCpuV2(dir: string): void {
  const file = join(dir, 'cgroup.subtree_control');
  if (!readFileSync(file, 'utf8').split(/\s+/).includes('cpu')) writeFileSync(file, '+cpu');
}

/**
 * Creates a container's cgroup (no quota yet); returns the cgroup.procs files its processes join.
 * Where the cgroup tree is read-only (the twin inside some containers) the twin runs without:
 * nothing then joins a cgroup, and asking for a quota says why it cannot be had.
 */
export function createContainerCgroup(lab: string, container: string): string[] {
  const layout = cgroupLayout();
  if (!layout) return [];
  try {
    if (layout.version === 2) {
      enableCpuV2(layout.root);
      for (const d of [join(layout.root, parentName), join(layout.root, parentName, lab)]) {
        mkdirSync(d, { recursive: true });
        enableCpuV2(d);
      }
    }
    return containerDirs(layout, lab, container).map((d) => {
      mkdirSync(d, { recursive: true });
      return join(d, 'cgroup.procs');
    });
  } catch {
    return [];
  }
}

/** The cgroup.procs files of a container's cgroup (empty without one): its daemons join them. */
export function containerProcsFiles(lab: string, container: string): string[] {
  const layout = cgroupLayout();
  if (!layout) return [];
  return containerDirs(layout, lab, container).map((d) => join(d, 'cgroup.procs')).filter(existsSync);
}

/**
 * argv that first moves itself into the container's cgroup, then execs `argv`: every process it
 * starts (a daemon started through nsenter) is counted, and capped, with the container.
 */
export function inCgroup(lab: string, container: string, argv: string[]): string[] {
  const files = containerProcsFiles(lab, container);
  if (files.length === 0) return argv;
  return ['sh', '-c', `${files.map((f) => `echo $$ > ${f}`).join(' && ')} && exec "$@"`, 'cgroup', ...argv];
}

/** Sets (cores > 0) or lifts (null) a container's CPU quota: `cores` CPUs' worth of time per period. */
export function setCpuQuota(lab: string, container: string, cores: number | null): void {
  const layout = cgroupLayout();
  if (!layout) throw new TwinError('no CPU cgroup controller on this machine (neither /sys/fs/cgroup/cpu nor cgroup v2 with cpu): CPU quotas need one');
  if (cores !== null && !(cores > 0)) throw new TwinError(`CPU quota ${cores} is not a positive number of cores (e.g. 0.25 for a quarter of one core)`);
  const quota = cores === null ? null : Math.max(1000, Math.round(cores * periodUs));
  const dir = containerDirs(layout, lab, container)[0];
  if (!existsSync(dir)) throw new TwinError(`container ${container} of lab ${lab} has no cgroup (is the lab up?)`);
  if (layout.version === 2) {
    writeFileSync(join(dir, 'cpu.max'), `${quota ?? 'max'} ${periodUs}`);
  } else {
    writeFileSync(join(dir, 'cpu.cfs_period_us'), String(periodUs));
    writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quota ?? -1));
  }
}

/** Removes a lab's cgroups (their processes must be gone); finds leftovers of a crashed run too. */
export function removeLabCgroups(lab: string): number {
  const layout = cgroupLayout();
  if (!layout) return 0;
  let removed = 0;
  for (const dir of labDirs(layout, lab)) {
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      rmdirWhenEmpty(join(dir, entry.name));
      removed++;
    }
    rmdirWhenEmpty(dir);
  }
  return removed;
}

/** rmdir of a cgroup: the kernel refuses (EBUSY) while a process that just exited is still counted. */
function rmdirWhenEmpty(dir: string): void {
  for (let i = 0; ; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || i >= 50) throw new TwinError(`cannot remove cgroup ${dir}: ${(error as Error).message}`);
      pauseSync(100);
    }
  }
}

/** The cgroups of a lab that exist now (for tests and status). */
export function labCgroups(lab: string): string[] {
  const layout = cgroupLayout();
  if (!layout) return [];
  return labDirs(layout, lab).filter(existsSync);
}

/** A container's CPU time in seconds and its quota in cores (null: none), from its cgroup; null without one. */
export function containerCpu(lab: string, container: string): { seconds: number; quotaCores: number | null } | null {
  const layout = cgroupLayout();
  if (!layout) return null;
  if (layout.version === 2) {
    const dir = join(layout.root, parentName, lab, container);
    if (!existsSync(dir)) return null;
    const usec = Number(/^usage_usec (\d+)$/m.exec(readFileSync(join(dir, 'cpu.stat'), 'utf8'))?.[1] ?? NaN);
    const [quota, period] = readFileSync(join(dir, 'cpu.max'), 'utf8').trim().split(/\s+/);
    return { seconds: usec / 1e6, quotaCores: quota === 'max' ? null : Number(quota) / Number(period) };
  }
  const acct = join(layout.cpuacct, parentName, lab, container);
  const cpu = join(layout.cpu, parentName, lab, container);
  if (!existsSync(acct) || !existsSync(cpu)) return null;
  const quota = Number(readFileSync(join(cpu, 'cpu.cfs_quota_us'), 'utf8'));
  const period = Number(readFileSync(join(cpu, 'cpu.cfs_period_us'), 'utf8'));
  return { seconds: Number(readFileSync(join(acct, 'cpuacct.usage'), 'utf8')) / 1e9, quotaCores: quota > 0 ? quota / period : null };
}
