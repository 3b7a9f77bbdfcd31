// The driver of a lab that must already run: its twin, or its Vagrant VMs.
import type { Driver } from '../libs/targets/driver';
import { twinDriver } from '../libs/targets/twin-driver';
import { vagrantDriver } from '../libs/targets/vagrant-driver';
import { labNamespaces, TwinError, type TwinLab } from '../libs/twin/twin';

/**
 * A twin that is down is refused, saying how to bring it up (with the folder as the user typed
 * it, if they did; `why` ends the message).
 */
export function runningDriver(lab: TwinLab, target: 'twin' | 'vagrant', typed?: string, why = ''): Driver {
  if (target === 'vagrant') return vagrantDriver(lab.model, lab.dir);
  if (labNamespaces(lab.model.name).length === 0) {
    throw new TwinError(`lab ${lab.model.name} is down: bring it up first with sudo npm run lab -- twin up${typed ? ` ${typed}` : ''}${why}`);
  }
  return twinDriver(lab);
}
