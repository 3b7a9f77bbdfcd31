// Real hosts as a driver: the lab's VMs reached over ssh with what the rendered Ansible inventory
// (ansible/inventory.yml) says about each (address, user, port, key, ssh options), one shared
// connection per host as for Vagrant (vagrant-ssh.ts), `lxc exec` for containers (vagrant-driver.ts).
import { existsSync, readFileSync } from 'fs';
import { homedir } from 'os';
import { resolve } from 'path';
import { parse as parseYaml } from 'yaml';
import type { LabModel } from '../model/types';
import { TwinError } from '../twin/system';
import type { Driver, Runner } from './driver';
import { sshLabDriver, spawnRunner, type Streamer } from './vagrant-driver';
import { sharedSsh, type SshHost } from './vagrant-ssh';

/** A bad or unfinished inventory: the CLI prints the message alone. */
export class InventoryError extends TwinError {}

/** What the driver needs of one inventory host (Ansible's own variable names). */
export interface InventoryHost {
  name: string;
  address: string;
  user?: string;
  port?: number;
  key?: string;
  /** ansible_ssh_common_args and ansible_ssh_extra_args, split as a shell would. */
  sshArgs: string[];
  /** A physical switch: nobody logs in to it. */
  physical: boolean;
}

/** Words of an ssh option string as a POSIX shell splits them (quotes, no expansions). */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  for (const m of text.matchAll(/(?:'([^']*)'|"((?:[^"\\]|\\.)*)"|\\(.)|([^\s'"\\]+)|(\s+))/g)) {
    if (m[5] !== undefined) {
      words.push('');
      continue;
    }
    if (words.length === 0) words.push('');
    // Inside double quotes a backslash escapes only $ ` " \ and a newline; before anything else it stays.
    words[words.length - 1] += m[1] ?? (m[2] !== undefined ? m[2].replace(/\\([$`"\\\n])/g, '$1') : undefined) ?? m[3] ?? m[4];
  }
  return words.filter((w) => w !== '');
}

type Vars = Record<string, unknown>;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The hosts of an Ansible YAML inventory with their variables resolved (all's vars, then each
 * group's by depth and name, then the host's own). `source` names the file in errors.
 */
export function readInventory(text: string, source: string): Map<string, Vars> {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new InventoryError(`${source}: not YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (!isObject(document)) throw new InventoryError(`${source}: an Ansible YAML inventory starts with a group (all:)`);
  // As Ansible merges them: the vars of every group a host is in (through children too), the
  // shallower groups first and, at one depth, by name; then the host's own, which win over all.
  const groups = new Map<string, { depth: number; vars: Vars }>();
  const memberOf = new Map<string, Set<string>>();
  const own = new Map<string, Vars>();
  const visit = (name: string, group: unknown, path: string[]) => {
    if (group === null || group === undefined) return;
    if (!isObject(group)) throw new InventoryError(`${source}: group ${name} is not a mapping`);
    const known = groups.get(name);
    groups.set(name, { depth: Math.max(known?.depth ?? 0, path.length), vars: { ...known?.vars, ...(isObject(group.vars) ? group.vars : {}) } });
    const lineage = [...path, name];
    if (isObject(group.hosts)) {
      for (const [host, vars] of Object.entries(group.hosts)) {
        memberOf.set(host, new Set([...(memberOf.get(host) ?? []), ...lineage]));
        own.set(host, { ...own.get(host), ...(isObject(vars) ? vars : {}) });
      }
    }
    if (isObject(group.children)) for (const [child, body] of Object.entries(group.children)) visit(child, body, lineage);
  };
  for (const [name, group] of Object.entries(document)) visit(name, group, []);
  const order = (a: string, b: string) => groups.get(a)!.depth - groups.get(b)!.depth || (a < b ? -1 : a > b ? 1 : 0);
  return new Map(
    [...memberOf].map(([host, names]) => [host, Object.assign({}, ...[...names].sort(order).map((g) => groups.get(g)!.vars), own.get(host)) as Vars]),
  );
}

/** The inventory host of each VM of the lab; throws naming the first VM missing or not filled in. */
export function inventoryHosts(model: LabModel, hosts: Map<string, Vars>, source: string): Map<string, InventoryHost> {
  const result = new Map<string, InventoryHost>();
  for (const vm of model.vms) {
    const vars = hosts.get(vm.name);
    if (!vars) throw new InventoryError(`${source} has no host ${vm.name} (lab ${model.name}'s VMs: ${model.vms.map((v) => v.name).join(', ')}); see the lab's ansible/inventory.yml`);
    const physical = vars.lab_physical === true || vars.lab_physical === 'true';
    const address = String(vars.ansible_host ?? vm.name);
    if (!physical && address.includes('<')) throw new InventoryError(`${source}: fill in ansible_host of ${vm.name} (it says "${address}"): the address this machine reaches it at over ssh`);
    const port = vars.ansible_port === undefined ? undefined : Number(vars.ansible_port);
    if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) throw new InventoryError(`${source}: ansible_port of ${vm.name} is ${JSON.stringify(vars.ansible_port)}, not a port number`);
    const key = typeof vars.ansible_ssh_private_key_file === 'string' ? vars.ansible_ssh_private_key_file.replace(/^~(?=\/)/, homedir()) : undefined;
    const sshArgs = ['ansible_ssh_common_args', 'ansible_ssh_extra_args'].flatMap((v) => (typeof vars[v] === 'string' ? shellWords(vars[v] as string) : []));
    const user = vars.ansible_user === undefined ? undefined : String(vars.ansible_user);
    result.set(vm.name, { name: vm.name, address, user, port, key, sshArgs, physical });
  }
  return result;
}

/** ssh's options and destination for a host (sudo unless the login is root). */
export function sshHostOf(host: InventoryHost): SshHost {
  const options = [...(host.port ? ['-p', String(host.port)] : []), ...(host.key ? ['-i', host.key, '-o', 'IdentitiesOnly=yes'] : []), ...(host.user ? ['-l', host.user] : []), ...host.sshArgs];
  return { options, destination: host.address, sudo: host.user !== 'root' };
}

/** Reads the inventory file of a lab's real hosts (`lab check --target ssh --inventory …`). */
export function loadInventory(model: LabModel, file: string): Map<string, InventoryHost> {
  if (!existsSync(file)) throw new InventoryError(`inventory ${file} not found: render the lab (it writes ansible/inventory.yml) and fill in the hosts' addresses`);
  return inventoryHosts(model, readInventory(readFileSync(file, 'utf8'), file), file);
}

/**
 * Real hosts of a lab: commands over ssh as root (sudo without a password, as BatchMode cannot
 * answer a prompt), one shared connection per host. A physical switch (lab_physical) cannot be
 * logged in to: commands for it fail, saying why.
 */
export function sshDriver(model: LabModel, inventory: string, runner: Runner = spawnRunner, streamer?: Streamer): Driver {
  const file = resolve(inventory);
  const hosts = loadInventory(model, file);
  const physical = (vm: string) => `${vm} is a physical switch (lab_physical in ${file}): lab check cannot log in to it`;
  const remote = sharedSsh(
    `inventory:${file}`,
    (vm) => {
      const host = hosts.get(vm)!;
      if (host.physical) throw new Error(physical(vm));
      return sshHostOf(host);
    },
    runner,
    process.cwd(),
  );
  const driver = sshLabDriver('ssh', model, remote, process.cwd(), streamer);
  // A physical switch answers no command: a failed command, not a crash, for the checks to report.
  const exec: Driver['exec'] = (node, command) => {
    const vm = model.containers.find((c) => c.name === node)?.host ?? node;
    if (hosts.get(vm)?.physical) return { status: 255, stdout: '', stderr: physical(vm) };
    return driver.exec(node, command);
  };
  return { ...driver, exec };
}
