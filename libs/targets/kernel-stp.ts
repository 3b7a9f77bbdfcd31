// Bridge port states as the Linux kernel reports them (/sys/class/net/<bridge>/brif/<port>/state),
// read through any target's exec. Here, below observe, because a target needs them too: the twin
// waits for the predicted tree on `up` and shows it in `status`.
import type { StpPortPrediction } from '../model/types';
import type { Driver } from './driver';

/** The kernel's numbers for a port's state (include/uapi/linux/if_bridge.h, BR_STATE_*). */
export const kernelStpStates = ['disabled', 'listening', 'learning', 'forwarding', 'blocking'];

/** Port states as the kernel reports them (/sys), keyed `bridge/port`, on every VM with an STP bridge. */
export function readStp(driver: Pick<Driver, 'model' | 'exec'>): Map<string, string> {
  const states = new Map<string, string>();
  const vms = new Set(driver.model.bridges.filter((b) => b.stp).map((b) => b.vm));
  for (const vm of vms) {
    const out = driver.exec(vm, 'for f in /sys/class/net/*/brif/*/state; do [ -e "$f" ] && echo "$f $(cat "$f")"; done; true').stdout;
    for (const line of out.split('\n').filter(Boolean)) {
      const [path, value] = line.split(' ');
      const parts = path.split('/');
      states.set(`${parts[4]}/${parts[6]}`, kernelStpStates[Number(value)] ?? value);
    }
  }
  return states;
}

/** The predicted ports whose actual state differs ('absent' when the kernel has no such port, which is right for a disabled one). */
export function stpMismatchesOf(actual: Map<string, string>, expected: StpPortPrediction[]): Array<StpPortPrediction & { actual: string }> {
  return expected
    .map((p) => ({ ...p, actual: actual.get(`${p.bridge}/${p.ifname}`) ?? 'absent' }))
    .filter((p) => p.actual !== p.state && !(p.state === 'disabled' && p.actual === 'absent'));
}
