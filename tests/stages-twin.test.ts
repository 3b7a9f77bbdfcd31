// A lab built up to a stage comes up on the twin and passes exactly its checks; the checks of
// later stages are "not built yet", never failures. cp2 through the CLI (every check, as a
// teacher runs it), cp3 in-process without cp1's link drills (cp2's run grades those). Fast
// profile, own lab names (twin namespaces lab_p6cp2_*, lab_p6cp3_*). Needs root; about 2 minutes.
import { chmodSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { builtAt, runChecks, type CheckReport, type CheckResult } from '../libs/checks/suite';
import { builtBy, type Stage } from '../libs/model/stage';
import { renderLab } from '../libs/render';
import { writeLab } from '../libs/render/write';
import { buildLab, readScenario } from '../libs/spec/load';
import { twinDriver } from '../libs/targets/twin-driver';
import { down, labNamespaces, loadTwinLab, up } from '../libs/twin/twin';
import { labCli } from './helpers';

const base = mkdtempSync(join(tmpdir(), 'lab-stages-twin-'));
chmodSync(base, 0o755);
const names = ['p6cp2', 'p6cp3'];
const cleanup = () => {
  for (const name of names) if (labNamespaces(name).length > 0) down(name, () => undefined);
};
process.on('exit', cleanup);

function render(name: string, stage: Stage): string {
  const dir = join(base, name);
  writeLab(renderLab(buildLab(readScenario('practica6'), { source: 'practica6', name, profile: 'fast' }), { stage }), dir);
  return dir;
}

/** Each check passes when its stage is built, and is "not built yet" otherwise. */
function assertExactly(checks: CheckResult[], stage: Stage): void {
  for (const c of checks) {
    if (builtBy(stage, builtAt(c.id))) {
      assert.is(c.status, 'pass', `${c.id}: ${c.detail}`);
    } else {
      assert.is(c.status, 'not-built', c.id);
      assert.is(c.pass, false, c.id);
      assert.match(c.detail, `not built yet: the lab is built up to ${stage}`, c.id);
    }
  }
}

const t = suite('stages on the twin');
t.before(cleanup);
t.after(() => {
  cleanup();
  rmSync(base, { recursive: true, force: true });
});

t('cp2 (the balancers with VRRP, no haproxy yet): lab check passes cp1 and cp2; cp3, cp4 and their drills are not built yet', () => {
  const dir = render('p6cp2', 'cp2');
  const cli = labCli(['check', dir, '--json'], 600_000);
  const report = JSON.parse(cli.stdout) as CheckReport;
  for (const c of report.checks) console.log(`  ${c.status.padEnd(10)} ${c.id.padEnd(24)} ${c.detail}`);
  assert.is(report.stage, 'cp2');
  assertExactly(report.checks, 'cp2');
  const ids = (status: string) => report.checks.filter((c) => c.status === status).map((c) => c.id);
  assert.equal(ids('pass'), ['cp1.stp-on', 'cp1.root', 'cp1.ports', 'cp1.link-failures', 'cp2.roles', 'cp2.failover', 'cp2.preempt', 'sec.no-forwarding']);
  assert.ok(ids('not-built').includes('cp3.vxlan-cut') && ids('not-built').includes('cp4.rotation'));
  assert.is(report.ok, true);
  assert.is(cli.status, 0, cli.stderr);
  assert.equal(labNamespaces('p6cp2'), [], 'the CLI took down the twin it brought up');
});

t('cp3 (servers and haproxy, no VXLAN): comes up serving from its own side; cp2, cp3, sec and drills pass, cp4 is not built yet', async () => {
  const lab = loadTwinLab(render('p6cp3', 'cp3'));
  const lines: string[] = [];
  await up(lab, (line) => lines.push(line));
  assert.match(lines.join('\n'), 'usuario: answers from serv1, serv2');
  const driver = twinDriver(lab);
  const results: CheckResult[] = [];
  for (const only of ['cp2', 'cp3', 'cp4', 'sec', 'drill']) {
    const report = runChecks(driver, { only, say: (line) => console.log(`  ${line}`) });
    assert.is(report.stage, 'cp3');
    results.push(...report.checks);
  }
  assertExactly(results, 'cp3');
  assert.equal(results.filter((c) => c.status === 'not-built').map((c) => c.id), ['cp4.internal', 'cp4.rotation', 'cp4.large', 'drill.vxlan-cut']);
  assert.match(results.find((c) => c.id === 'cp3.backup-serves')!.detail, 'bal2 master: answers from serv3');
  down('p6cp3', () => undefined);
});

t.run();
