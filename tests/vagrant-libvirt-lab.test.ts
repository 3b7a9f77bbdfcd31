// A generated lab built by a real `vagrant up --provider libvirt` and graded by `lab check
// --target vagrant`: the external network of practica6 (switches, users, hypervisors carrying
// bridges only, so no LXD), fast profile. Real VMs (qemu's emulated CPU; no KVM here), the real
// file and shell provisioners, bootstrap.sh, network.sh on NICs found by MAC, then a second
// `vagrant provision` (every step safe to rerun) and a `vagrant reload` after which netplan and
// lab-network.service bring the lab network back. Needs root; about 10 minutes on 2 cores.
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { CheckReport } from '../libs/checks/suite';
import { renderLab } from '../libs/render';
import { writeLab } from '../libs/render/write';
import { fixtureModel, labCliArgv, root } from './helpers';
import { inNs, labEnv, withLibvirt, type RunResult } from './libvirt';

const model = fixtureModel('external-only');
const base = mkdtempSync(join(tmpdir(), 'lab-vagrant-'));
const dir = join(base, model.name);
writeLab(renderLab(model), dir);
const minutes = 60_000;
const seconds: Record<string, number> = {};

/** Fails with the end of a command's output, to tell why without a rerun. */
function ok(run: RunResult, what: string): RunResult {
  const tail = (run.stdout + run.stderr).trimEnd().split('\n').slice(-40).join('\n');
  assert.ok(run.status === 0 && !run.timedOut, `${what}: status ${run.status}${run.timedOut ? ' (timed out)' : ''}\n${tail}`);
  return run;
}

/** Runs `lab check --target vagrant` inside the namespace, where the VMs' management network is. */
async function labCheck(ns: string, only: string): Promise<CheckReport> {
  const run = await inNs(ns, labCliArgv('check', '--target', 'vagrant', '--lab', dir, '--only', only, '--json'), {
    cwd: root, env: labEnv, timeoutMs: 15 * minutes, onLine: (line) => line.startsWith('pass') || line.startsWith('FAIL') || line.startsWith('n/a') ? console.log(`    ${line}`) : undefined,
  });
  seconds[`lab check --only ${only}`] = run.seconds;
  assert.ok(!run.timedOut, `lab check timed out\n${run.stderr.slice(-3000)}`);
  try {
    return JSON.parse(run.stdout) as CheckReport;
  } catch {
    throw new Error(`lab check printed no report (status ${run.status}):\n${(run.stdout + run.stderr).slice(-3000)}`);
  }
}

const t = suite('vagrant up --provider libvirt of a generated lab, graded by lab check --target vagrant');

t('up, check cp1, provision again, reload, check the tree again', async () => {
  await withLibvirt('labup', async (ns) => {
    const vagrant = async (args: string[], limit: number) => {
      const run = await inNs(ns, ['vagrant', ...args], { cwd: dir, env: labEnv, timeoutMs: limit });
      seconds[`vagrant ${args.join(' ')}`] = run.seconds;
      return ok(run, `vagrant ${args.join(' ')}`);
    };
    const up = await vagrant(['up', '--provider', 'libvirt'], 25 * minutes);
    // Every VM ran its bootstrap.sh to the end, and the guests' network.sh found their NICs by MAC.
    for (const vm of model.vms) assert.match(up.stdout, `${vm.name}: ${vm.name}: ready`);
    // A condensed transcript: Vagrant's steps and what each provisioner said last.
    for (const line of up.stdout.split('\n').filter((l) => /^==> |: ready$|Running provisioner/.test(l))) console.log(`    | ${line}`);
    console.log(`    vagrant up of ${model.vms.length} VMs: ${up.seconds.toFixed(0)} s`);

    const first = await labCheck(ns, 'cp1');
    const cp1 = first.checks.filter((c) => c.id.startsWith('cp1.'));
    assert.is(cp1.length, 4);
    for (const c of cp1) assert.is(c.status, 'pass', `${c.id}: ${c.detail}`);
    // Over UDP tunnels a link taken down on one VM keeps carrier on the other: some failures
    // converge only after max_age, and the check compared each with the prediction for its case.
    const figures = cp1.find((c) => c.id === 'cp1.link-failures')!.figures!;
    console.log(`    link failures (ms): ${Object.entries(figures).map(([k, v]) => `${k} ${v}`).join(', ')}`);

    // Provisioning again changes nothing and fails nowhere.
    const again = await vagrant(['provision'], 15 * minutes);
    for (const vm of model.vms) assert.match(again.stdout, `${vm.name}: ${vm.name}: ready`);

    // After a reboot the lab network comes back without Vagrant's provisioners.
    const reload = await vagrant(['reload'], 25 * minutes);
    assert.not.match(reload.stdout, 'Running provisioner');
    const after = await labCheck(ns, 'cp1.ports');
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
