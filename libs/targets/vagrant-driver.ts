// Vagrant (VirtualBox or libvirt) as a driver: ssh to the VMs, `lxc exec` for containers.
import { spawnSync } from 'child_process';
import type { Writable } from 'stream';
import { faultTarget, type FaultAction } from '../model/fault-target';
import type { LabModel } from '../model/types';
import type { Driver, ExecResult, Runner } from './driver';
import type { LineStream } from './events';
import { remoteCapture, spawnCapture, type Capture, type CaptureOptions } from './capture';
import { streamLines } from './stream';
import { shellQuote, vagrantSsh, type SharedSsh } from './vagrant-ssh';

/** Runs argv in cwd and hands each line of its output to onLine; replaceable, as Runner is. */
export type Streamer = (argv: string[], cwd: string, onLine: (line: string) => void) => LineStream;
const defaultStreamer: Streamer = (argv, cwd, onLine) => streamLines(argv, onLine, cwd);

export const spawnRunner: Runner = (argv, cwd) => {
  const r = spawnSync(argv[0], argv.slice(1), { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? r.error.message : '') };
};

/**
 * Vagrant: ssh to the VMs (one `vagrant ssh-config`, a shared connection per VM), and `lxc exec`
 * inside the hypervisor for containers.
 * Faults use the same commands a student would type (see the lab guide).
 */
export function vagrantDriver(model: LabModel, dir: string, runner: Runner = spawnRunner, streamer: Streamer = defaultStreamer): Driver {
  return sshLabDriver('vagrant', model, vagrantSsh(dir, runner), dir, streamer);
}

/**
 * A lab whose VMs are reached over ssh: Vagrant's, or real hosts through an inventory
 * (ssh-driver.ts). `lxc exec` inside the hypervisor for containers; `dir` is where ssh runs.
 */
export function sshLabDriver(name: 'vagrant' | 'ssh', model: LabModel, remote: SharedSsh, dir: string, streamer: Streamer = defaultStreamer): Driver {
  const { run: ssh, argv: sshArgv } = remote;
  const hostOf = (node: string) => model.containers.find((c) => c.name === node)?.host;
  /** The VM a command for `node` runs on, and the command there (`lxc exec` for a container). */
  const onVm = (node: string, command: string): [string, string] => {
    const host = hostOf(node);
    if (host) return [host, `lxc exec ${node} -- sh -c ${shellQuote(command)}`];
    if (!model.vms.some((v) => v.name === node)) throw new Error(`unknown node ${node}`);
    return [node, command];
  };
  const exec = (node: string, command: string): ExecResult => ssh(...onVm(node, command));
  const must = (node: string, command: string) => {
    const r = exec(node, command);
    if (r.status !== 0) throw new Error(`${node}: ${command}: ${r.stderr || r.stdout}`);
  };
  const fault = (target: string, action: FaultAction) => {
    const t = faultTarget(model, target);
    if (!t) throw new Error(`unknown fault target ${target}`);
    if (action === 'unplug') {
      if (name === 'ssh') throw new Error(`unplug (pulling the cable of ${target}) needs hands on real hosts; use down`);
      throw new Error(`unplug (pulling the cable of ${target}) is not supported on vagrant yet (virsh domif-setlink or VBoxManage controlvm setlinkstateN would do it); use down`);
    }
    switch (t.kind) {
      case 'link':
        return must(t.link.ends[0].vm, `ip link set dev ${t.link.ends[0].ifname} ${action}`);
      case 'vxlan':
        for (const m of t.segment.members) must(m.vm, `ip link set dev ${t.segment.name} ${action}`);
        return;
      case 'daemon':
        return must(t.container.name, `rc-service ${t.service} ${action === 'down' ? 'stop' : 'start'}`);
      case 'container': {
        const r = ssh(t.container.host, `lxc ${action === 'down' ? 'stop --force' : 'start'} ${t.container.name}`);
        if (r.status !== 0) throw new Error(r.stderr);
        return;
      }
      case 'bridge':
        return must(t.bridge.vm, `ip link set dev ${t.bridge.name} ${action}`);
      case 'vm':
        return must(t.vm.name, [...t.vm.nics.map((n) => n.ifname), ...t.vm.bridges].map((i) => `ip link set dev ${i} ${action}`).join('; '));
    }
  };
  // A stopped stream closes its ssh channel; the command on the VM, which has no terminal, ends
  // at its next write (SIGPIPE): a probe loop writes a line per request, and is bounded anyway.
  const stream = (node: string, command: string, onLine: (line: string) => void): LineStream => streamer(sshArgv(...onVm(node, command)), dir, onLine);
  // tcpdump with a pid file on the VM (or in the container): see remoteCapture.
  let captures = 0;
  const capture = (node: string, ifname: string, out: Writable, options: CaptureOptions = {}): Capture => {
    const { start, stop } = remoteCapture(ifname, options, `/tmp/lab-capture-${process.pid}-${++captures}.pid`);
    const cleanup = () => void exec(node, stop);
    return spawnCapture(sshArgv(...onVm(node, start)), out, { ...options, cwd: dir, cleanup });
  };
  return { name, model, exec, fault, now: () => Date.now(), stream, capture };
}
