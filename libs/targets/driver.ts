// What observe, the checks, the bench and the view need from a running lab: run a shell command
// on a node, inject a fault, tell the time. Two drivers: the twin (twin-driver.ts, namespaces on
// this machine) and Vagrant (vagrant-driver.ts, VirtualBox or libvirt), whose ssh code also
// drives real hosts (ssh-driver.ts, through an Ansible inventory).
import type { FaultAction } from '../model/fault-target';
import type { LabModel, Service } from '../model/types';
import type { Writable } from 'stream';
import type { Capture, CaptureOptions } from './capture';
import type { Impairment } from '../model/impairment';
import type { LineStream, TargetEvent, Watch } from './events';

export interface ExecResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface Driver {
  readonly name: 'twin' | 'vagrant' | 'ssh';
  readonly model: LabModel;
  /** Runs a POSIX shell command as root on a VM, switch, user or container. */
  exec(node: string, command: string): ExecResult;
  /**
   * Cuts or heals a link `a:b`, a VXLAN segment, a bridge, a VM, a container or `container:daemon`.
   * `down` is the guide's command (a link: on its first end; the other keeps carrier), `unplug`
   * pulls a link's cable (both ends lose carrier), `up` heals either.
   */
  fault(target: string, action: FaultAction): void;
  /** A container's CPU time so far (seconds) and CPU quota (cores; null: none); absent when the target cannot tell. */
  containerCpu?(container: string): { seconds: number; quotaCores: number | null } | null;
  /** The last lines of a container daemon's log, for error reports; absent when the driver cannot read them. */
  daemonLog?(container: string, service: Service): string[];
  now(): number;
  /** Notifications as they happen (kernel, daemons, haproxy); absent when the target has none, and observe polls. */
  watch?(emit: (event: TargetEvent) => void): Watch;
  /** A long-running command on a node, its output line by line (ended by stop(), or by itself); absent when the target cannot stream. */
  stream?(node: string, command: string, onLine: (line: string) => void): LineStream;
  /**
   * Captures on an interface of a node (tcpdump), pcap bytes written into `out` as they come
   * (see capture.ts); the node's tcpdump is gone once the capture's `done` settles. Resolve a
   * user's target (link, bridge, node:iface) with model/capture-target.ts first.
   */
  capture?(node: string, ifname: string, out: Writable, options?: CaptureOptions): Capture;
  /** Impairs a link `a:b` (netem: delay, jitter, loss, rate; both directions); `fault(link, 'up')` heals it. Absent when the target cannot. */
  impair?(link: string, impairment: Impairment): void;
}

/** Runs argv and returns its result; replaceable so the command lines can be checked without VirtualBox. */
export type Runner = (argv: string[], cwd: string) => ExecResult;
