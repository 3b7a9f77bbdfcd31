// The twin as a driver: commands through namespaces (nsenter / ip netns exec), faults as `twin fault`.
import type { Driver } from './driver';
import { daemonLogTail, fault as twinFault, shOn, type TwinLab } from '../twin/twin';

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
  };
}
