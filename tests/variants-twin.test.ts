// One variant on the twin: practica6 --variant alumno1 (fast profile, lab var1: namespaces
// lab_var1_*) passes its own `lab check`, every check, run through the CLI as a teacher runs it.
// Its right answers are not practica6's: another root port, bal2 master, four servers. Needs
// root; about 2 minutes.
import { chmodSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { CheckReport } from '../libs/checks/suite';
import { down, labNamespaces } from '../libs/twin/twin';
import { labCli } from './helpers';

const name = 'var1';
const base = mkdtempSync(join(tmpdir(), 'lab-variant-twin-'));
chmodSync(base, 0o755);
const dir = join(base, name);
const cleanup = () => {
  if (labNamespaces(name).length > 0) down(name, () => undefined);
};
process.on('exit', cleanup);
const cli = (...args: string[]) => labCli(args, 600_000);

const t = suite('a variant on the twin');
t.before(cleanup);
t.after(() => {
  cleanup();
  rmSync(base, { recursive: true, force: true });
});

t('practica6 --variant alumno1 --name var1 --profile fast: lab check passes every check, with the variant\'s answers', () => {
  const render = cli('render', '--variant', 'alumno1', '--name', name, '--profile', 'fast', '--out-dir', base);
  assert.is(render.status, 0, render.stderr);
  const run = cli('check', dir, '--json');
  const report = JSON.parse(run.stdout) as CheckReport;
  for (const c of report.checks) console.log(`  ${c.status.padEnd(10)} ${c.id.padEnd(24)} ${c.detail}`);
  for (const c of report.checks) assert.is(c.status, 'pass', `${c.id}: ${c.detail}`);
  assert.is(report.ok, true);
  assert.is(run.status, 0, run.stderr);
  const detail = (id: string) => report.checks.find((c) => c.id === id)!.detail;
  assert.match(detail('cp1.ports'), 'blocked: swout2/to-vswout1');
  assert.match(detail('cp1.root'), 'root swout1');
  assert.equal(labNamespaces(name), [], 'the CLI took down the twin it brought up');
});

t.run();
