// What the check suite needs from a running lab: run a shell command on a node, inject a fault,
// tell the time. Two drivers: the twin (namespaces on this machine) and Vagrant (VirtualBox).
import { spawnSync } from 'child_process';
import type { LabModel } from '../model/types';
import { fault as twinFault, shOn, type FaultAction, type TwinLab } from '../twin/twin';

export interface ExecResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface Driver {
  readonly name: 'twin' | 'vagrant';
  readonly model: LabModel;
  /** Runs a POSIX shell command as root on a VM, switch, user or container. */
  exec(node: string, command: string): ExecResult;
  /** Cuts or heals a link `a:b`, a VXLAN segment, a bridge, a VM, a container or `container:daemon`. */
  fault(target: string, action: FaultAction): void;
  now(): number;
}

export function twinDriver(lab: TwinLab): Driver {
  return {
    name: 'twin',
    model: lab.model,
    exec: (node, command) => shOn(lab, node, command),
    fault: (target, action) => {
      twinFault(lab, target, action);
    },
    now: () => Date.now(),
  };
}

/** Runs argv and returns its result; replaceable so the command lines can be checked without VirtualBox. */
export type Runner = (argv: string[], cwd: string) => ExecResult;

const spawnRunner: Runner = (argv, cwd) => {
  const r = spawnSync(argv[0], argv.slice(1), { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? r.error.message : '') };
};

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Vagrant: `vagrant ssh <vm> -c` for VMs, and `lxc exec` inside the hypervisor for containers.
 * Faults use the same commands a student would type (see the lab guide).
 */
export function vagrantDriver(model: LabModel, dir: string, runner: Runner = spawnRunner): Driver {
  const hostOf = (node: string) => model.containers.find((c) => c.name === node)?.host;
  const exec = (node: string, command: string): ExecResult => {
    const host = hostOf(node);
    if (host) return runner(['vagrant', 'ssh', host, '-c', `sudo lxc exec ${node} -- sh -c ${quote(command)}`], dir);
    if (!model.vms.some((v) => v.name === node)) throw new Error(`unknown node ${node}`);
    return runner(['vagrant', 'ssh', node, '-c', `sudo sh -c ${quote(command)}`], dir);
  };
  const must = (node: string, command: string) => {
    const r = exec(node, command);
    if (r.status !== 0) throw new Error(`${node}: ${command}: ${r.stderr || r.stdout}`);
  };
  const fault = (target: string, action: FaultAction) => {
    const link = model.links.find((l) => l.id === target);
    if (link) return must(link.ends[0].vm, `ip link set dev ${link.ends[0].ifname} ${action}`);
    const segment = model.vxlan.find((s) => s.name === target);
    if (segment) {
      for (const m of segment.members) must(m.vm, `ip link set dev ${segment.name} ${action}`);
      return;
    }
    const [name, service] = target.split(':');
    const container = model.containers.find((c) => c.name === name);
    if (container && service) return must(container.name, `rc-service ${service} ${action === 'down' ? 'stop' : 'start'}`);
    if (container) {
      const r = runner(['vagrant', 'ssh', container.host, '-c', `sudo lxc ${action === 'down' ? 'stop --force' : 'start'} ${container.name}`], dir);
      if (r.status !== 0) throw new Error(r.stderr);
      return;
    }
    const bridge = model.bridges.find((b) => b.name === target && model.vms.find((v) => v.name === b.vm)!.kind === 'hypervisor');
    if (bridge) return must(bridge.vm, `ip link set dev ${bridge.name} ${action}`);
    const vm = model.vms.find((v) => v.name === target);
    if (vm) return must(vm.name, [...vm.nics.map((n) => n.ifname), ...vm.bridges].map((i) => `ip link set dev ${i} ${action}`).join('; '));
    throw new Error(`unknown fault target ${target}`);
  };
  return { name: 'vagrant', model, exec, fault, now: () => Date.now() };
}
