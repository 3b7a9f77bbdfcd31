// A generated lab built on libvirt VMs and graded by `lab check`, both ways a lab reaches real
// machines: the external network of practica6 (tests/fixtures/external-only.json: switches, users,
// hypervisors carrying bridges only) brought up by `vagrant up --provider libvirt --no-provision`,
// then provisioned WITHOUT Vagrant by the lab's rendered Ansible (the user fills the addresses into
// ansible/inventory.yml; Debian's ansible-playbook applies the same files and bootstrap.sh; a second
// run and --check --diff change nothing) and graded by `lab check --target ssh --only cp1` through
// that inventory; then Vagrant's own provisioners run on top (`vagrant provision`: every step safe
// to rerun), `lab check --target vagrant`, `vagrant reload` (the lab network comes back at boot,
// without provisioners) and `vagrant destroy`. (`vagrant up` with its provisioners on a fresh VM is
// tests/libvirt-box.test.ts.) Offline: the box carries the packages (-e lab_offline=true skips apt).
// Needs root, libvirt, qemu and ansible-core; about 15 minutes on 2 cores (emulated CPUs).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDocument } from 'yaml';
import type { CheckReport } from '../libs/checks/suite';
import { inventoryGroups, renderLab } from '../libs/render';
import { writeLab } from '../libs/render/write';
import { fixtureModel, labCliArgv, root } from './helpers';
import { inNs, labEnv, withLibvirt, type RunResult } from './libvirt';

const model = fixtureModel('external-only');
const base = mkdtempSync(join(tmpdir(), 'lab-vagrant-'));
const dir = join(base, model.name);
writeLab(renderLab(model), dir);
const inventory = join(dir, 'ansible', 'inventory.yml');
const playbook = join(dir, 'ansible', 'playbook.yml');
const minutes = 60_000;
const seconds: Record<string, number> = {};

function ok(run: RunResult, what: string): RunResult {
  const tail = (run.stdout + run.stderr).trimEnd().split('\n').slice(-40).join('\n');
  assert.ok(run.status === 0 && !run.timedOut, `${what}: status ${run.status}${run.timedOut ? ' (timed out)' : ''}\n${tail}`);
  return run;
}

/** `vagrant ssh-config` → per host: address, port, user, key. */
function parseSshConfig(text: string): Map<string, Record<string, string>> {
  const hosts = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const line of text.split('\n')) {
    const [key, ...rest] = line.trim().split(/\s+/);
    if (!key) continue;
    if (key === 'Host') hosts.set(rest[0], (current = {}));
    else if (current) current[key] = rest.join(' ').replace(/^"(.*)"$/, '$1');
  }
  return hosts;
}

/** The PLAY RECAP of an ansible-playbook run: host → counters. */
function recap(stdout: string): Map<string, Record<string, number>> {
  const rows = new Map<string, Record<string, number>>();
  const at = stdout.lastIndexOf('PLAY RECAP');
  assert.ok(at >= 0, `no PLAY RECAP in:\n${stdout.slice(-3000)}`);
  for (const line of stdout.slice(at).split('\n').slice(1)) {
    const m = line.match(/^(\S+)\s+:\s+(.*)$/);
    if (m) rows.set(m[1], Object.fromEntries([...m[2].matchAll(/(\w+)=(\d+)/g)].map((c) => [c[1], Number(c[2])])));
  }
  return rows;
}

/** Runs `lab check --target vagrant|ssh` inside the namespace, where the VMs' management network is. */
async function labCheck(ns: string, target: 'vagrant' | 'ssh', only: string): Promise<CheckReport> {
  const how = target === 'ssh' ? ['--target', 'ssh', '--inventory', inventory] : ['--target', 'vagrant'];
  const run = await inNs(ns, labCliArgv('check', ...how, '--lab', dir, '--only', only, '--json'), {
    cwd: root, env: labEnv, timeoutMs: 15 * minutes, onLine: (line) => line.startsWith('pass') || line.startsWith('FAIL') || line.startsWith('n/a') ? console.log(`    ${line}`) : undefined,
  });
  seconds[`lab check --target ${target} --only ${only}`] = run.seconds;
  assert.ok(!run.timedOut, `lab check timed out\n${run.stderr.slice(-3000)}`);
  try {
    const report = JSON.parse(run.stdout) as CheckReport;
    assert.is(report.target, target);
    return report;
  } catch {
    throw new Error(`lab check printed no report (status ${run.status}):\n${(run.stdout + run.stderr).slice(-3000)}`);
  }
}

const t = suite('a generated lab on libvirt VMs: provisioned by its Ansible, graded over ssh, then by Vagrant');

t('up without provisioners, Ansible twice (changed=0) and --check --diff, cp1 over ssh; vagrant provision, reload, destroy', async () => {
  await withLibvirt('labup', async (ns) => {
    const vagrant = async (args: string[], limit: number) => {
      const run = await inNs(ns, ['vagrant', ...args], { cwd: dir, env: labEnv, timeoutMs: limit });
      seconds[`vagrant ${args.join(' ')}`] = run.seconds;
      return ok(run, `vagrant ${args.join(' ')}`);
    };
    const up = await vagrant(['up', '--provider', 'libvirt', '--no-provision'], 20 * minutes);
    assert.not.match(up.stdout, 'Running provisioner');

    // The user's step: fill in each host's address (and here the key Vagrant made and the port).
    const config = parseSshConfig((await vagrant(['ssh-config'], 2 * minutes)).stdout);
    const document = parseDocument(readFileSync(inventory, 'utf8'));
    for (const vm of model.vms) {
      const c = config.get(vm.name);
      assert.ok(c?.HostName, `vagrant ssh-config says nothing of ${vm.name}`);
      const path = ['all', 'children', inventoryGroups.find((g) => g.kind === vm.kind)!.name, 'hosts', vm.name];
      assert.is(document.getIn([...path, 'ansible_host']), '<fill in>');
      document.setIn([...path, 'ansible_host'], c!.HostName);
      document.setIn([...path, 'ansible_port'], Number(c!.Port));
      document.setIn([...path, 'ansible_ssh_private_key_file'], c!.IdentityFile);
    }
    document.setIn(['all', 'vars', 'ansible_user'], config.get(model.vms[0].name)!.User);
    // Throwaway VMs: no host key to trust; no Internet: the box has the packages.
    document.setIn(['all', 'vars', 'ansible_ssh_common_args'], '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null');
    document.setIn(['all', 'vars', 'lab_offline'], true);
    writeFileSync(inventory, document.toString());

    const ansible = async (label: string, extra: string[], hosts = model.vms.map((v) => v.name)) => {
      const run = await inNs(ns, ['ansible-playbook', '-i', inventory, playbook, '-f', String(model.vms.length), ...extra], {
        cwd: dir, env: { ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0' }, timeoutMs: 15 * minutes,
      });
      seconds[label] = run.seconds;
      ok(run, label);
      const rows = recap(run.stdout);
      console.log(`    ${label} (${run.seconds.toFixed(0)} s):`);
      for (const line of run.stdout.slice(run.stdout.lastIndexOf('PLAY RECAP')).trimEnd().split('\n')) console.log(`    | ${line}`);
      assert.equal([...rows.keys()].sort(), [...hosts].sort(), `${label}: recap hosts`);
      for (const [host, r] of rows) assert.ok(r.failed === 0 && r.unreachable === 0, `${label}: ${host} ${JSON.stringify(r)}`);
      return { run, rows };
    };

    const first = await ansible('ansible-playbook (first run)', []);
    // Every host got its files and ran its bootstrap.sh, to the end.
    for (const [host, r] of first.rows) assert.ok(r.changed >= 2, `first run: ${host} changed=${r.changed}`);
    for (const vm of model.vms) assert.match(first.run.stdout, new RegExp(`changed: \\[${vm.name}\\]`));

    const second = await ansible('ansible-playbook (second run)', []);
    for (const [host, r] of second.rows) assert.is(r.changed, 0, `second run: ${host} changed`);
    // Check mode on one switch and one hypervisor (each host takes as long as a real run).
    const limit = [model.vms.find((v) => v.kind === 'switch')!.name, model.vms.find((v) => v.kind === 'hypervisor')!.name];
    const check = await ansible('ansible-playbook --check --diff', ['--check', '--diff', '--limit', limit.join(',')], limit);
    for (const [host, r] of check.rows) assert.is(r.changed, 0, `--check --diff: ${host} changed`);

    // Graded through the inventory alone (no Vagrant): checkpoint 1 on the hosts the playbook built.
    const cp1 = (await labCheck(ns, 'ssh', 'cp1')).checks.filter((c) => c.id.startsWith('cp1.'));
    assert.is(cp1.length, 4);
    for (const c of cp1) assert.is(c.status, 'pass', `${c.id}: ${c.detail}`);
    // Over UDP tunnels a link taken down on one VM keeps carrier on the other: some failures
    // converge only after max_age, and the check compared each with the prediction for its case.
    const figures = cp1.find((c) => c.id === 'cp1.link-failures')!.figures!;
    console.log(`    link failures (ms): ${Object.entries(figures).map(([k, v]) => `${k} ${v}`).join(', ')}`);

    // Vagrant's provisioners on top of Ansible's work: the same bootstrap.sh, safe to rerun.
    const provision = await vagrant(['provision'], 15 * minutes);
    for (const line of provision.stdout.split('\n').filter((l) => /^==> |: ready$|Running provisioner/.test(l))) console.log(`    | ${line}`);
    for (const vm of model.vms) assert.match(provision.stdout, `${vm.name}: ${vm.name}: ready`);
    const viaVagrant = await labCheck(ns, 'vagrant', 'cp1.ports');
    assert.is(viaVagrant.checks[0].status, 'pass', viaVagrant.checks[0].detail);

    // After a reboot the lab network comes back without any provisioner.
    const reload = await vagrant(['reload'], 25 * minutes);
    assert.not.match(reload.stdout, 'Running provisioner');
    const after = await labCheck(ns, 'vagrant', 'cp1.ports');
    assert.is(after.checks.length, 1);
    assert.is(after.checks[0].status, 'pass', after.checks[0].detail);
    await vagrant(['destroy', '-f'], 10 * minutes);
  });
  console.log(`    ${Object.entries(seconds).map(([k, v]) => `${k}: ${v.toFixed(0)} s`).join('; ')}`);
});

t.after(() => {
  rmSync(base, { recursive: true, force: true });
});

t.run();
