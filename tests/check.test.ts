// `lab check` on the twin of the default lab (practica6, seed profile): every checkpoint of the
// handout, the security property and the fault drills, each reported as its own test.
import { chmodSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { twinDriver } from '../libs/targets/twin-driver';
import { checks, runChecks, type CheckReport } from '../libs/checks/suite';
import { resolveLab } from '../libs/model/resolve';
import { renderLab } from '../libs/render';
import { writeLab } from '../libs/render/write';
import { daemonLogTail, down, labNamespaces, loadTwinLab, up } from '../libs/twin/twin';
import { labCli, practica6Spec } from './helpers';

const name = 'checktest';
const base = mkdtempSync(join(tmpdir(), 'lab-check-'));
chmodSync(base, 0o755);
const dir = join(base, name);
writeLab(renderLab(resolveLab(practica6Spec(), { name, source: 'practica6' })), dir);
const lab = loadTwinLab(dir);
const cleanup = () => {
  if (labNamespaces(name).length > 0) down(name, () => undefined);
};
process.on('exit', cleanup);

let report: CheckReport;
const t = suite('lab check on the twin of practica6 (seed)');

t.before(async () => {
  cleanup();
  await up(lab, () => undefined);
  const started = Date.now();
  report = runChecks(twinDriver(lab), { say: (line) => console.log(`  ${line}`) });
  console.log(`  lab check: ${report.checks.filter((c) => c.pass).length} of ${report.checks.length} passed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (!report.ok) printBalancerLogs();
});

/** A failed check comes with the end of the balancers' daemon logs, to tell why without a rerun. */
function printBalancerLogs(): void {
  for (const c of lab.model.containers) {
    for (const service of c.services.filter((s) => s !== 'apache2')) {
      const lines = daemonLogTail(lab, c.name, service);
      console.log(`  --- ${c.name} ${service} (last ${lines.length} lines)\n${lines.map((l) => `    ${l}`).join('\n')}`);
    }
  }
}

t.after(() => {
  cleanup();
  rmSync(base, { recursive: true, force: true });
});

t('the report follows the JSON contract', () => {
  assert.type(report.ok, 'boolean');
  assert.equal(report.checks.map((c) => c.id), checks.map((c) => c.id));
  for (const c of report.checks) {
    assert.match(c.id, /^(cp[1-4]|sec|drill)\./);
    assert.type(c.title, 'string');
    assert.type(c.pass, 'boolean');
    // practica6 has everything every check needs.
    assert.is(c.status, c.pass ? 'pass' : 'fail');
    assert.type(c.detail, 'string');
  }
});

for (const check of checks) {
  t(`${check.id}: ${check.title}`, () => {
    const result = report.checks.find((c) => c.id === check.id)!;
    assert.ok(result.pass, result.detail);
  });
}

t('failover time was measured and compared with the VRRP formula', () => {
  const failover = report.checks.find((c) => c.id === 'cp2.failover')!;
  assert.ok(failover.figures!.failover_ms > 0);
  assert.is(failover.figures!.predicted_ms, 3609);
});

t('the CLI prints the same report as JSON and exits 0 on a running lab', () => {
  const cli = labCli(['check', '--lab', dir, '--only', 'cp4', '--json']);
  assert.is(cli.status, 0, cli.stderr);
  const json = JSON.parse(cli.stdout);
  assert.is(json.ok, true);
  assert.equal(json.checks.map((c: { id: string }) => c.id), ['cp4.internal', 'cp4.rotation', 'cp4.large']);
});

t.run();
