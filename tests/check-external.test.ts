// `lab check` on a lab with only the external network (switches, users, hypervisor bridges; no
// containers, VRRP, haproxy or VXLAN), in the twin: the STP checks run, each link failure
// converges in the predicted time and users still reach each other and the bridges; every other
// check is reported as not applicable. Needs root. Fast profile: about a minute.
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { CheckReport } from '../libs/checks/suite';
import { interSwitchLinks, linkFailureConvergence } from '../libs/model/link-failure';
import { renderLab } from '../libs/render';
import { writeLab } from '../libs/render/write';
import { buildLab } from '../libs/spec/load';
import { down, labNamespaces } from '../libs/twin/twin';
import { fixtures, labCli } from './helpers';

const model = buildLab(readFileSync(join(fixtures, 'external-only.json'), 'utf8'), { source: 'external-only' });
const base = mkdtempSync(join(tmpdir(), 'lab-check-ext-'));
chmodSync(base, 0o755);
const dir = join(base, model.name);
writeLab(renderLab(model), dir);
const cleanup = () => {
  if (labNamespaces(model.name).length > 0) down(model.name, () => undefined);
};
process.on('exit', cleanup);

let report: CheckReport;
let status: number | null;
const t = suite('lab check on the twin of a lab without containers (external network only)');

t.before(() => {
  cleanup();
  // The CLI brings the twin up, checks and takes it down, as for any lab.
  const cli = labCli(['check', '--lab', dir, '--json'], 600_000);
  status = cli.status;
  report = JSON.parse(cli.stdout) as CheckReport;
  for (const c of report.checks) console.log(`  ${c.status.padEnd(14)} ${c.id.padEnd(22)} ${c.detail}`);
});

t.after(() => {
  cleanup();
  rmSync(base, { recursive: true, force: true });
});

t('every cp1 check passes; the report is ok and the CLI exits 0', () => {
  for (const c of report.checks.filter((x) => x.id.startsWith('cp1.'))) assert.is(c.status, 'pass', `${c.id}: ${c.detail}`);
  assert.is(report.ok, true);
  assert.is(status, 0);
  assert.equal(labNamespaces(model.name), [], 'the CLI took down the twin it brought up');
});

t('each link failure converged within its prediction, in both cases (seen and unseen)', () => {
  const figures = report.checks.find((c) => c.id === 'cp1.link-failures')!.figures!;
  const cases = new Set<string>();
  for (const link of interSwitchLinks(model)) {
    const p = linkFailureConvergence(model, { link: link.id, how: 'down', end: 0 });
    cases.add(p.case);
    assert.is(figures[`${link.id}_predicted_ms`], p.maxMs, link.id);
    assert.type(figures[`${link.id}_converge_ms`], 'number');
  }
  assert.equal([...cases].sort(), ['no-change', 'seen', 'unseen']);
  const detail = report.checks.find((c) => c.id === 'cp1.link-failures')!.detail;
  assert.match(detail, 'swout2:vswout1 down on swout2: unseen');
  assert.match(detail, 'users checked by pinging each other and the bridge addresses');
});

t('what the lab lacks is not applicable, with the reason; nothing is passed without being checked', () => {
  const others = report.checks.filter((c) => !c.id.startsWith('cp1.'));
  assert.ok(others.length > 0);
  for (const c of others) {
    assert.is(c.status, 'not-applicable', c.id);
    assert.is(c.pass, false, c.id);
    assert.match(c.detail, /^not applicable: the lab has no balanced service/, c.id);
  }
});

t.run();
