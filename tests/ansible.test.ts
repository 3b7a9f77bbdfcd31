// The rendered ansible/ folder, statically, with Debian's ansible-core (practica6: hypervisors with
// LXD containers, which the libvirt proof in ansible-libvirt.test.ts leaves out), and the ssh
// driver's reading of an inventory. No host is contacted: the runs below stop before any ssh.
import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse as parseYaml } from 'yaml';
import { hostPackages, renderLab } from '../libs/render';
import { regenerateLab, writeLab } from '../libs/render/write';
import type { ExecResult } from '../libs/targets/driver';
import { inventoryHosts, readInventory, shellWords, sshDriver } from '../libs/targets/ssh-driver';
import { fixtureModel, labCli, practica6 } from './helpers';

const model = practica6();
const base = mkdtempSync(join(tmpdir(), 'lab-ansible-static-'));
const dir = join(base, model.name);
writeLab(renderLab(model), dir);
const inventory = join(dir, 'ansible', 'inventory.yml');
const playbook = join(dir, 'ansible', 'playbook.yml');
const ansibleEnv = { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCAL_TEMP: join(base, 'ansible-tmp') };
const ansible = (tool: string, args: string[]) => spawnSync(tool, args, { cwd: dir, encoding: 'utf8', env: ansibleEnv, timeout: 120_000 });

const t = suite('rendered Ansible and the ssh driver');

t('ansible-playbook --syntax-check accepts the playbook; the inventory has one group per VM kind', () => {
  const syntax = ansible('ansible-playbook', ['--syntax-check', '-i', inventory, playbook]);
  assert.is(syntax.status, 0, syntax.stderr + syntax.stdout);
  const list = ansible('ansible-inventory', ['-i', inventory, '--list']);
  assert.is(list.status, 0, list.stderr);
  const groups = JSON.parse(list.stdout) as Record<string, { hosts?: string[] }>;
  assert.equal(groups.hypervisors.hosts, ['vm1', 'vm2']);
  assert.equal(groups.switches.hosts, ['swout1', 'swout2']);
  assert.equal(groups.users.hosts, ['usuario', 'usuario2']);
  const tasks = ansible('ansible-playbook', ['--list-tasks', '--list-tags', '-i', inventory, playbook]);
  assert.is(tasks.status, 0, tasks.stderr);
  assert.match(tasks.stdout, /Packages of bootstrap.sh\s+TAGS: \[packages\]/);
});

t('the playbook uploads what the Vagrantfile uploads and names bootstrap.sh\'s packages', () => {
  const [play] = parseYaml(readFileSync(playbook, 'utf8')) as Array<{ vars: { lab_hosts: Record<string, { packages: string[]; containers: boolean }> } }>;
  const vagrantfile = readFileSync(join(dir, 'Vagrantfile'), 'utf8');
  for (const vm of model.vms) {
    const host = play.vars.lab_hosts[vm.name];
    assert.ok(host, vm.name);
    assert.equal(host.packages, hostPackages[vm.kind]);
    // bootstrap.sh checks for exactly these packages.
    assert.match(readFileSync(join(dir, 'hosts', vm.name, 'bootstrap.sh'), 'utf8'), `for package in ${host.packages.join(' ')}; do`);
    // containers/ goes along exactly where Vagrant's file provisioner uploads it.
    const block = vagrantfile.slice(vagrantfile.indexOf(`config.vm.define "${vm.name}"`));
    const uploadsContainers = block.slice(0, block.indexOf('\n  end\n')).includes('source: "containers"');
    assert.is(host.containers, uploadsContainers, vm.name);
  }
});

t('ansible-playbook stops at an unfilled address, and leaves a physical switch alone, before any ssh', () => {
  const placeholder = ansible('ansible-playbook', ['-i', inventory, playbook, '--limit', 'usuario']);
  assert.is.not(placeholder.status, 0);
  assert.match(placeholder.stdout, 'usuario: fill in its ansible_host in the inventory');
  assert.match(placeholder.stdout, /usuario\s+: ok=0\s+changed=0\s+unreachable=0\s+failed=1/);
  const physical = join(base, 'physical.yml');
  writeFileSync(physical, readFileSync(inventory, 'utf8').replace('lab_physical: false', 'lab_physical: true'));
  const skipped = ansible('ansible-playbook', ['-i', physical, playbook, '--limit', 'switches']);
  assert.is(skipped.status, 0, skipped.stdout + skipped.stderr);
  // Ended before any task that logs in: nothing to count in the recap.
  assert.match(skipped.stdout, 'PLAY RECAP');
  assert.not.match(skipped.stdout, /swout\d\s+: ok=/);
  assert.not.match(skipped.stdout, 'Upload');
});

t('an inventory: variables of all, then groups, then the host; every VM present and filled in', () => {
  const text = [
    'all:',
    '  vars: { ansible_user: vagrant, ansible_ssh_common_args: "-o StrictHostKeyChecking=no -o \'UserKnownHostsFile /dev/null\'" }',
    '  children:',
    '    switches:',
    '      vars: { lab_physical: false, ansible_port: 2200 }',
    '      hosts:',
    '        swout1: { ansible_host: 10.0.0.1, ansible_ssh_private_key_file: /k/swout1 }',
    '        swout2: { ansible_host: 10.0.0.2, ansible_user: root, lab_physical: true }',
    '    users:',
    '      hosts:',
    '        usuario: { ansible_host: 10.0.0.3 }',
    '        usuario2: { ansible_host: "<fill in>" }',
  ].join('\n');
  const vars = readInventory(text, 'inv.yml');
  assert.equal(vars.get('swout1'), { ansible_user: 'vagrant', ansible_ssh_common_args: "-o StrictHostKeyChecking=no -o 'UserKnownHostsFile /dev/null'", lab_physical: false, ansible_port: 2200, ansible_host: '10.0.0.1', ansible_ssh_private_key_file: '/k/swout1' });
  assert.is(vars.get('swout2')!.ansible_user, 'root');
  // Listed again in another group: the host's own variables still win, and of two groups at one
  // depth the later by name wins (ansible-inventory --host gives the same: root, 2200; 2222 once
  // the group sorts after switches).
  const twice = (group: string) => readInventory(`${text}\n    ${group}:\n      vars: { ansible_user: other, ansible_port: 2222 }\n      hosts: { swout2: }\n`, 'inv.yml');
  assert.is(twice('physical').get('swout2')!.ansible_user, 'root');
  assert.is(twice('physical').get('swout2')!.ansible_port, 2200);
  assert.is(twice('zphysical').get('swout2')!.ansible_port, 2222);
  assert.equal(twice('physical').get('swout1'), vars.get('swout1'));
  assert.equal(shellWords(`-o A=1 -o 'B c' "d\\"e" f\\ g`), ['-o', 'A=1', '-o', 'B c', 'd"e', 'f g']);
  assert.equal(shellWords(`"a\\nb" "c\\$d"`), ['a\\nb', 'c$d']);
  const ext = fixtureModel('external-only');
  assert.throws(() => inventoryHosts(ext, vars, 'inv.yml'), /inv.yml has no host vm1 \(lab extonly's VMs: vm1, vm2, swout1, swout2, usuario, usuario2\)/);
  const partial = readInventory(`${text}\n    hypervisors:\n      hosts: { vm1: { ansible_host: 10.0.0.5 }, vm2: { ansible_host: 10.0.0.6 } }\n`, 'inv.yml');
  assert.throws(() => inventoryHosts(ext, partial, 'inv.yml'), /inv.yml: fill in ansible_host of usuario2 \(it says "<fill in>"\)/);
  assert.throws(() => readInventory('all: [1, 2', 'bad.yml'), /bad.yml: not YAML/);
});

t('the ssh driver: ssh with the inventory\'s user, port, key and options; lxc exec for containers; a physical switch answers nothing', () => {
  const file = join(base, 'driver.yml');
  const vms = Object.fromEntries(model.vms.map((v, i) => [v.name, { ansible_host: `10.9.0.${i + 1}` }]));
  (vms.swout2 as Record<string, unknown>).lab_physical = true;
  (vms.vm1 as Record<string, unknown>).ansible_user = 'root';
  writeFileSync(file, JSON.stringify({ all: { vars: { ansible_user: 'lab', ansible_port: 2222, ansible_ssh_private_key_file: '/keys/lab', ansible_ssh_common_args: '-o StrictHostKeyChecking=no' }, hosts: vms } }));
  const calls: string[][] = [];
  const d = sshDriver(model, file, (argv): ExecResult => {
    calls.push(argv);
    return { status: 0, stdout: '', stderr: '' };
  });
  assert.is(d.name, 'ssh');
  d.exec('usuario', 'ip -br addr');
  d.exec('bal1', 'rc-service keepalived status');
  const [user, bal1] = calls;
  assert.equal(user.slice(0, 9), ['ssh', '-p', '2222', '-i', '/keys/lab', '-o', 'IdentitiesOnly=yes', '-l', 'lab']);
  assert.ok(user.includes('StrictHostKeyChecking=no') && user.includes('ControlMaster=auto'));
  assert.equal(user.slice(-2), ['10.9.0.5', "sudo sh -c 'ip -br addr'"]);
  // bal1 lives on vm1, where the login is root already.
  assert.equal(bal1.slice(-2), ['10.9.0.1', `sh -c 'lxc exec bal1 -- sh -c '\\''rc-service keepalived status'\\'''`]);
  const physical = d.exec('swout2', 'bridge link');
  assert.is(physical.status, 255);
  assert.match(physical.stderr, 'swout2 is a physical switch');
  assert.is(calls.length, 2);
  assert.throws(() => d.fault('swout1:vswout1', 'unplug'), /needs hands on real hosts/);
});

t('rendering again keeps the addresses filled in by hand', () => {
  const again = join(base, 'again');
  regenerateLab(renderLab(model), again);
  const file = join(again, 'ansible', 'inventory.yml');
  writeFileSync(file, readFileSync(file, 'utf8').replace('"<fill in>"', '192.0.2.10'));
  const plan = regenerateLab(renderLab(practica6('fast')), again);
  assert.is(plan.outcomes.find((o) => o.path === 'ansible/inventory.yml')!.action, 'merge');
  const merged = readFileSync(file, 'utf8');
  assert.match(merged, 'vm1:\n          ansible_host: 192.0.2.10');
  assert.match(merged, '(profile fast)');
});

t('lab check --target ssh names the host whose address is not filled in', () => {
  const run = labCli(['check', '--target', 'ssh', '--lab', dir, '--only', 'cp1']);
  assert.is(run.status, 1);
  assert.match(run.stderr, `${inventory}: fill in ansible_host of vm1`);
  assert.not.match(run.stderr, '    at ');
});

t.after(() => {
  rmSync(base, { recursive: true, force: true });
});

t.run();
