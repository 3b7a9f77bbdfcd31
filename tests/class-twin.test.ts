// A class on one machine: two students' twins side by side through `lab class up`, each its own
// variant and each passing its own cp4.rotation while the other runs; then `lab class bench` with
// three twins. Fast profile, own lab names (namespaces lab_alumno*_, lab_clsb*_). Needs root; about 2 minutes.
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ClassBenchReport } from '../tools/class';
import { down, labNamespaces } from '../libs/twin/twin';
import { labCli } from './helpers';

const students = ['alumno7', 'alumno8'];
const benchNames = ['alumno1', 'alumno2', 'alumno3'];
const base = mkdtempSync(join(tmpdir(), 'lab-class-twin-'));
chmodSync(base, 0o755);
const classDir = join(base, 'class');
const benchDir = join(base, 'bench');
const cleanup = () => {
  for (const name of [...students, ...benchNames]) if (labNamespaces(name).length > 0) down(name, () => undefined);
};
process.on('exit', cleanup);
const cli = (...args: string[]) => labCli(args, 900_000);

const t = suite('a class on one machine');
t.before(cleanup);
t.after(() => {
  cleanup();
  rmSync(base, { recursive: true, force: true });
});

t('two students side by side: each twin up with its own variant, each passes its own cp4.rotation', () => {
  const upRun = cli('class', 'up', ...students, '--profile', 'fast', '--out-dir', classDir);
  assert.is(upRun.status, 0, upRun.stderr);
  console.log(upRun.stdout.trim());
  for (const s of students) assert.ok(labNamespaces(s).length > 0, `${s} is up`);
  const models = students.map((s) => JSON.parse(readFileSync(join(classDir, s, 'lab.json'), 'utf8')));
  assert.equal(models.map((m) => m.variant), students);
  // The variants differ: another external subnet at least.
  assert.is.not(models[0].subnets.find((n: { name: string }) => n.name === 'external').cidr, models[1].subnets.find((n: { name: string }) => n.name === 'external').cidr);
  const statusRun = cli('class', 'status', '--out-dir', classDir);
  assert.is(statusRun.status, 0, statusRun.stderr);
  for (const [i, s] of students.entries()) assert.match(statusRun.stdout, new RegExp(`^${s}: up; VIP \\S+ ${models[i].vrrp[0].master}; STP as predicted$`, 'm'));
  for (const s of students) {
    const check = cli('check', join(classDir, s), '--only', 'cp4.rotation', '--json');
    assert.is(check.status, 0, `${s}: ${check.stdout}${check.stderr}`);
    assert.is(JSON.parse(check.stdout).checks[0].status, 'pass');
  }
  const downRun = cli('class', 'down', '--out-dir', classDir);
  assert.is(downRun.status, 0, downRun.stderr);
  for (const s of students) assert.equal(labNamespaces(s), [], s);
});

t('lab class bench: three twins held, one row each, all checked at the end, all taken down', () => {
  const run = cli('class', 'bench', '--profile', 'fast', '--max', '3', '--every', '2', '--json', '--out-dir', benchDir);
  assert.is(run.status, 0, run.stderr);
  const report = JSON.parse(run.stdout) as ClassBenchReport;
  console.log(run.stderr.trim());
  assert.is(report.held, 3, report.stoppedBecause);
  assert.equal(report.rows.map((r) => r.lab), benchNames);
  assert.ok(report.rows.every((r) => r.newPasses && r.upSeconds > 0 && r.pssMib > 0), JSON.stringify(report.rows));
  assert.equal(report.rows.map((r) => r.allPassing), [null, 2, 3]);
  for (const name of benchNames) assert.equal(labNamespaces(name), [], name);
});

t('a student id that is no lab name is refused before any twin starts', () => {
  const run = cli('class', 'up', 'alumno9', 'Bad_Id', '--profile', 'fast', '--out-dir', join(base, 'bad'));
  assert.is(run.status, 1);
  assert.match(run.stderr, 'Bad_Id');
  assert.not.match(run.stderr, /\n\s+at /);
  assert.equal(labNamespaces('alumno9'), []);
});

t.run();
