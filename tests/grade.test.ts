// `lab grade`'s table from check reports: a checkpoint passes when each of its checks passes, is
// "not-built" when none ran, and earns the handout's weight; CSV, JSON and Markdown agree.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gradeCsv, gradeError, gradeJson, gradeMarkdown, gradeRow } from '../libs/checks/grade';
import type { CheckReport, CheckResult } from '../libs/checks/suite';

const check = (id: string, status: CheckResult['status'], figures?: Record<string, number>): CheckResult => ({ id, title: id, status, pass: status === 'pass', detail: status === 'fail' ? 'bal2 master, expected bal1' : '', figures });
const report = (lab: string, stage: CheckReport['stage'], checks: CheckResult[]): CheckReport => ({ ok: checks.every((c) => c.status !== 'fail'), target: 'twin', lab, stage, checks });

const whole = report('alumno1', 'cp4', [
  check('cp1.root', 'pass'),
  check('cp2.roles', 'pass'),
  check('cp2.failover', 'pass', { failover_ms: 220 }),
  check('cp3.backup-serves', 'pass'),
  check('cp4.rotation', 'pass'),
  check('drill.switch-down', 'pass'),
]);
const broken = report('alumno2', 'cp4', [check('cp1.root', 'pass'), check('cp2.roles', 'fail'), check('cp3.backup-serves', 'pass'), check('cp4.rotation', 'pass'), check('drill.switch-down', 'fail')]);
const atCp2 = report('alumno3', 'cp2', [check('cp1.root', 'pass'), check('cp2.roles', 'pass'), check('cp3.backup-serves', 'not-built'), check('cp4.rotation', 'not-built'), check('sec.no-forwarding', 'pass')]);

test('per checkpoint: pass earns its weight, a failed check fails it, nothing run is not-built; the total adds up', () => {
  const rows = [gradeRow('out/a1', '{"a":1}\n', 'a1', whole), gradeRow('out/a2', '{}\n', null, broken), gradeRow('out/a3', '{}\n', 'a3', atCp2)];
  assert.equal(rows.map((r) => r.total), [100, 70, 55]);
  assert.is(rows[1].checkpoints.cp2.grade, 'fail');
  assert.equal(rows[1].failures, ['cp2.roles: bal2 master, expected bal1', 'drill.switch-down: bal2 master, expected bal1']);
  assert.is(rows[2].checkpoints.cp3.grade, 'not-built');
  assert.equal(rows[0].figures, { 'cp2.failover.failover_ms': 220 });
  assert.equal(rows[0].extras, { passed: 1, of: 1 });
  assert.is(rows[0].labSha256.length, 64);
  const csv = gradeCsv(rows).trim().split('\n');
  assert.is(csv.length, 4);
  assert.is(csv[0], 'lab,folder,variant,stage,lab_sha256,cp1,cp1_points,cp2,cp2_points,cp3,cp3_points,cp4,cp4_points,extras_passed,extras_run,total');
  assert.match(csv[2], /^alumno2,out\/a2,,cp4,[0-9a-f]{64},pass,25,fail,0,pass,30,pass,15,0,1,70$/);
  const json = JSON.parse(gradeJson(rows));
  assert.equal(json.weights, { cp1: 25, cp2: 30, cp3: 30, cp4: 15 });
  assert.is(json.labs[2].total, 55);
  const md = gradeMarkdown(rows);
  assert.match(md, '| lab | variant | stage | cp1 (25) | cp2 (30) | cp3 (30) | cp4 (15) | sec + drills | total |');
  assert.match(md, '| alumno3 | a3 | cp2 | pass 25 | pass 30 | not-built 0 | not-built 0 | 1/1 | **55** |');
  assert.match(md, 'alumno2:\n- cp2.roles: bal2 master, expected bal1');
});

test('a lab whose check stopped fails what it should have built and ran; the rest is not built or not run', () => {
  const row = gradeError('out/a4', '{}\n', { name: 'alumno4', variant: null, stage: 'cp3' }, undefined, 'timed out after 30.0 s waiting for bal2 alone holding 10.1.1.254\n--- bal1 keepalived');
  assert.equal(Object.values(row.checkpoints).map((c) => c.grade), ['fail', 'fail', 'fail', 'not-built']);
  assert.is(row.total, 0);
  assert.equal(row.failures, ['lab check stopped: timed out after 30.0 s waiting for bal2 alone holding 10.1.1.254']);
  const only = gradeError('out/a4', '{}\n', { name: 'alumno4', variant: 'x', stage: 'cp4' }, 'cp2', 'stopped');
  assert.equal(Object.values(only.checkpoints).map((c) => c.grade), ['not-run', 'fail', 'not-run', 'not-run']);
});

test.run();
