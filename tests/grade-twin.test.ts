// `lab grade` over three twins through the CLI, two at a time, checkpoint 2 only (--only cp2): two variants
// as rendered, and a third whose bal1 was given a higher priority by hand (the wrong master: its
// check stops waiting for the predicted master, and the lab fails checkpoint 2).
// Fast profile, own lab names (namespaces lab_grade1_* … lab_grade3_*). Needs root; about a minute.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { GradeRow } from '../libs/checks/grade';
import { down, labNamespaces } from '../libs/twin/twin';
import { labCli } from './helpers';

const names = ['grade1', 'grade2', 'grade3'];
const base = mkdtempSync(join(tmpdir(), 'lab-grade-twin-'));
chmodSync(base, 0o755);
const cleanup = () => {
  for (const name of names) if (labNamespaces(name).length > 0) down(name, () => undefined);
};
process.on('exit', cleanup);
const cli = (...args: string[]) => labCli(args, 600_000);

const t = suite('lab grade on three twins');
t.before(cleanup);
t.after(() => {
  cleanup();
  rmSync(base, { recursive: true, force: true });
});

t('two labs pass checkpoint 2, the broken one fails it; CSV, JSON and Markdown written; every twin taken down', () => {
  names.forEach((name, i) => {
    const r = cli('render', '--variant', `alumno${i + 1}`, '--name', name, '--profile', 'fast', '--out-dir', base);
    assert.is(r.status, 0, r.stderr);
  });
  // alumno3's master is bal2 (priority 200 against bal1's 50): bal1 is made master by hand.
  const conf = join(base, 'grade3', 'containers', 'bal1', 'keepalived.conf');
  const text = readFileSync(conf, 'utf8');
  assert.match(text, /^\s+priority 50$/m);
  writeFileSync(conf, text.replace(/^(\s+priority) 50$/m, '$1 254'));
  // Two at a time: each check in a process of its own, the twins side by side.
  const run = cli('grade', ...names.map((n) => join(base, n)), '--only', 'cp2', '--out-dir', base, '--jobs', '2');
  console.log(run.stdout);
  assert.is(run.status, 0, run.stderr);
  assert.match(run.stderr, '[3/3]');
  const rows = JSON.parse(readFileSync(join(base, 'grade.json'), 'utf8')).labs as GradeRow[];
  assert.equal(rows.map((r) => [r.lab, r.variant, r.checkpoints.cp2.grade, r.checkpoints.cp1.grade, r.total]), [
    ['grade1', 'alumno1', 'pass', 'not-run', 30],
    ['grade2', 'alumno2', 'pass', 'not-run', 30],
    ['grade3', 'alumno3', 'fail', 'not-run', 0],
  ]);
  // bal1 holds the VIP: the lab never reaches its predicted state, so its check stops there.
  assert.match(rows[2].failures.join('\n'), 'bal2 alone holding');
  assert.is(readFileSync(join(base, 'grade.csv'), 'utf8').trim().split('\n').length, 4);
  assert.match(readFileSync(join(base, 'grade.md'), 'utf8'), '| grade3 | alumno3 | cp4 | not-run 0 | fail 0 |');
  for (const name of names) assert.equal(labNamespaces(name), [], name);
});

t.run();
