// `lab break` on the twin: every catalogue entry injected into one running practica6 (fast
// profile), shown by at least one of its checks, repaired by hand as a student would (its repair
// steps, through the driver), seen fixed, and its checks passing again (a full `lab check`
// settle first); generated files under the lab folder never change. Then the CLI: inject two
// sealed faults, `lab check` fails, `--reveal` lists them and says which are fixed.
// Own lab name (namespaces lab_bfix6_*). Needs root; about 5 minutes.
import { createHash } from 'crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { applyRepair, catalogue, rngOf, unseal, type InjectedFault } from '../libs/checks/breakfix';
import { runChecks, type CheckResult } from '../libs/checks/suite';
import { waitUntil } from '../libs/observe/observe';
import { renderLab } from '../libs/render';
import { writeLab } from '../libs/render/write';
import { buildLab, readScenario } from '../libs/spec/load';
import { twinDriver } from '../libs/targets/twin-driver';
import { down, labNamespaces, loadTwinLab, stateDir, up, type TwinLab } from '../libs/twin/twin';
import { labCli } from './helpers';

const name = 'bfix6';
const base = mkdtempSync(join(tmpdir(), 'lab-breakfix-twin-'));
chmodSync(base, 0o755);
const dir = join(base, name);
const cleanup = () => {
  if (labNamespaces(name).length > 0) down(name, () => undefined);
};
process.on('exit', cleanup);

/** Every generated file of the lab folder, hashed: a fault must never reach them. */
function folderHash(): string {
  const hash = createHash('sha256');
  const walk = (d: string): void => {
    for (const entry of readdirSync(d).sort()) {
      const path = join(d, entry);
      if (statSync(path).isDirectory()) walk(path);
      else hash.update(`${path}\n`).update(readFileSync(path));
    }
  };
  walk(dir);
  return hash.digest('hex');
}

let lab: TwinLab;
let generated = '';
const failing = (results: CheckResult[]) => results.filter((c) => c.status === 'fail');
const checksOf = (f: InjectedFault, settle: boolean) => f.checks.flatMap((only) => runChecks(twinDriver(lab), { only, settle }).checks);

const t = suite('lab break on the twin');
t.before(async () => {
  cleanup();
  writeLab(renderLab(buildLab(readScenario('practica6'), { source: 'practica6', name, profile: 'fast' })), dir);
  lab = loadTwinLab(dir);
  generated = folderHash();
  // Refused while the twin is down, saying how to bring it up.
  const r = labCli(['break', dir]);
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, `lab ${name} is down: bring it up first with sudo npm run lab -- twin up ${dir}`);
  await up(lab, () => undefined);
});
t.after(() => {
  cleanup();
  rmSync(base, { recursive: true, force: true });
});

for (const entry of catalogue) {
  t(`${entry.id}: a check fails; the hand repair fixes it; the checks pass again`, () => {
    const driver = twinDriver(lab);
    const started = Date.now();
    const fault = entry.inject(driver, rngOf(name, 7, entry.id));
    assert.not.ok(entry.isFixed(driver, fault), `${fault.what}: fixed as soon as injected`);
    // The lab as it is now, polled: a daemon restarted by the injection takes a moment to act.
    let shown: CheckResult[] = [];
    const symptom = waitUntil(driver, `a failing check among ${fault.checks.join(', ')}`, 30_000, () => (shown = failing(checksOf(fault, false))).length > 0, 200);
    assert.equal(folderHash(), generated, `${fault.id} changed a file under ${dir}`);
    applyRepair(driver, fault);
    waitUntil(driver, `${fault.id} fixed`, 30_000, () => entry.isFixed(driver, fault), 200);
    const healed = checksOf(fault, true);
    console.log(`  ${fault.id}: ${fault.what}\n    shown in ${(symptom / 1000).toFixed(1)} s by ${shown.map((c) => `${c.id} (${c.detail.slice(0, 120)})`).join('; ')}; ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
    assert.equal(failing(healed), [], `${fault.id} repaired, checks still failing`);
    assert.ok(healed.some((c) => c.status === 'pass'), healed.map((c) => `${c.id} ${c.status}`).join(', '));
  });
}

t('through the CLI: lab break --count 2 --seed 7 seals two faults, lab check fails, --reveal lists them and what is fixed', () => {
  const driver = twinDriver(lab);
  const broke = labCli(['break', dir, '--count', '2', '--seed', '7'], 120_000);
  assert.is(broke.status, 0, broke.stderr);
  console.log(broke.stdout);
  assert.match(broke.stdout, `lab ${name}: 2 faults injected (seed 7)`);
  const file = join(stateDir(name), 'break.sealed');
  assert.is(statSync(file).mode & 0o777, 0o600);
  const record = unseal(readFileSync(file, 'utf8'), file);
  assert.is(record.faults.length, 2);
  // Nothing of what was broken on the screen or in the record at a glance.
  for (const f of record.faults) {
    assert.not.ok(broke.stdout.includes(f.id), broke.stdout);
    assert.not.ok(readFileSync(file, 'utf8').includes(f.id));
  }
  // Not twice without asking.
  const again = labCli(['break', dir]);
  assert.is(again.status, 1);
  assert.match(again.stderr, `lab ${name} already has 2 sealed faults`);

  const only = record.faults[0].checks[0];
  const check = labCli(['check', dir, '--only', only], 300_000);
  console.log(check.stdout.split('\n').slice(-6).join('\n'));
  assert.is(check.status, 1, check.stderr);
  assert.match(check.stdout, /FAIL /);

  const before = labCli(['break', dir, '--reveal'], 60_000);
  console.log(before.stdout);
  assert.is(before.status, 0, before.stderr);
  assert.match(before.stdout, '2 faults injected');
  assert.match(before.stdout, '0 fixed now');
  for (const f of record.faults) assert.match(before.stdout, `NOT FIXED  ${f.id}: ${f.what}`);

  applyRepair(driver, record.faults[0]);
  waitUntil(driver, `${record.faults[0].id} fixed`, 30_000, () => catalogue.find((e) => e.id === record.faults[0].id)!.isFixed(driver, record.faults[0]), 200);
  const after = labCli(['break', dir, '--reveal'], 60_000);
  console.log(after.stdout);
  assert.match(after.stdout, '1 fixed now');
  assert.match(after.stdout, `fixed      ${record.faults[0].id}`);
  assert.match(after.stdout, `NOT FIXED  ${record.faults[1].id}`);

  applyRepair(driver, record.faults[1]);
  const cleared = labCli(['break', dir, '--clear']);
  assert.is(cleared.status, 0, cleared.stderr);
  assert.equal(folderHash(), generated);
});

t.run();
