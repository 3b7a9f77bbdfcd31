// The twin as a driver: commands through namespaces (nsenter / ip netns exec), faults as `twin
// fault`, and the kernel's notifications as events (twin-events.ts).
import type { Writable } from 'stream';
import type { Driver } from './driver';
import { daemonLogTail, fault as twinFault, impair as twinImpair, nsOf, onNode, shOn, TwinError, type TwinLab } from '../twin/twin';
import { missingTools } from '../twin/system';
import { spawnCapture, tcpdumpArgv, type Capture, type CaptureOptions } from './capture';
import { twinStream, twinWatch } from './twin-events';
import { containerCpu } from '../twin/cgroup';

/**
 * tcpdump in a node's network namespace (a container's too: only its network matters), run from
 * this process so it is a child of ours: its pid is tcpdump's (nsenter execs it), and
 * `setpriv --pdeathsig KILL` ends it should this process die without a chance to stop it.
 */
export function twinCapture(lab: TwinLab, node: string, ifname: string, out: Writable, options: CaptureOptions = {}): Capture {
  onNode(lab, node, []); // a clear error for an unknown node
  if (missingTools(['tcpdump']).length > 0) throw new TwinError('tcpdump is missing: apt-get install tcpdump');
  const argv = ['setpriv', '--pdeathsig', 'KILL', 'nsenter', `--net=/run/netns/${nsOf(lab.model.name, node)}`, '--', ...tcpdumpArgv(ifname, options)];
  return spawnCapture(argv, out, options);
}

export function twinDriver(lab: TwinLab): Driver {
  return {
    name: 'twin',
    model: lab.model,
    exec: (node, command) => shOn(lab, node, command),
    fault: (target, action) => {
      twinFault(lab, target, action);
    },
    daemonLog: (container, service) => daemonLogTail(lab, container, service),
    containerCpu: (container) => containerCpu(lab.model.name, container),
    now: () => Date.now(),
    watch: (emit) => twinWatch(lab, emit),
    stream: (node, command, onLine) => twinStream(lab, node, command, onLine),
    capture: (node, ifname, out, options) => twinCapture(lab, node, ifname, out, options),
    impair: (link, impairment) => {
      twinImpair(lab, link, impairment);
    },
  };
}
