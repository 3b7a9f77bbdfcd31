// The twin as a driver: commands through namespaces (nsenter / ip netns exec), faults as `twin
// fault`, and the kernel's notifications as events (twin-events.ts).
import type { Driver } from './driver';
import { daemonLogTail, fault as twinFault, shOn, type TwinLab } from '../twin/twin';
import { twinStream, twinWatch } from './twin-events';

export function twinDriver(lab: TwinLab): Driver {
  return {
    name: 'twin',
    model: lab.model,
    exec: (node, command) => shOn(lab, node, command),
    fault: (target, action) => {
      twinFault(lab, target, action);
    },
    daemonLog: (container, service) => daemonLogTail(lab, container, service),
    now: () => Date.now(),
    watch: (emit) => twinWatch(lab, emit),
    stream: (node, command, onLine) => twinStream(lab, node, command, onLine),
  };
}
