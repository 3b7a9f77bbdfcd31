// Class grading: the check reports of many labs as one table, per student (lab) and per
// checkpoint, with the handout's weights. Pure functions of the reports; `lab grade` runs them.
import { createHash } from 'crypto';
import { builtBy, checkpoints, type Stage } from '../model/stage';
import type { CheckReport } from './suite';

type Checkpoint = keyof typeof checkpoints;
const checkpointIds = Object.keys(checkpoints) as Checkpoint[];

/** not-run: none of its checks ran (`--only` left them out). */
export type CheckpointGrade = 'pass' | 'fail' | 'not-built' | 'not-run';

export interface GradeRow {
  /** The lab's folder as given. */
  folder: string;
  lab: string;
  variant: string | null;
  stage: string;
  /** SHA-256 of the lab's lab.json: the resolved lab the grade was given for (spec, variant, stage, profile). */
  labSha256: string;
  checkpoints: Record<Checkpoint, { grade: CheckpointGrade; weight: number; points: number }>;
  /** Security checks and drills passed, of those that ran. */
  extras: { passed: number; of: number };
  /** Every figure the checks measured, as "<check id>.<figure>". */
  figures: Record<string, number>;
  total: number;
  /** The checks that did not pass, with why. */
  failures: string[];
}

/** A checkpoint passes when each of its checks passes; it is not built when the lab's stage is before it. */
export function gradeRow(folder: string, labJson: string, variant: string | null, report: CheckReport): GradeRow {
  const row = {} as GradeRow['checkpoints'];
  for (const id of checkpointIds) {
    const checks = report.checks.filter((c) => c.id.startsWith(`${id}.`));
    const built = checks.filter((c) => c.status !== 'not-built' && c.status !== 'not-applicable');
    const grade: CheckpointGrade = checks.length === 0 ? 'not-run' : built.length === 0 ? 'not-built' : built.every((c) => c.status === 'pass') ? 'pass' : 'fail';
    row[id] = { grade, weight: checkpoints[id].weight, points: grade === 'pass' ? checkpoints[id].weight : 0 };
  }
  const extras = report.checks.filter((c) => !/^cp\d\./.test(c.id) && c.status !== 'not-built' && c.status !== 'not-applicable');
  const figures: Record<string, number> = {};
  for (const c of report.checks) for (const [k, v] of Object.entries(c.figures ?? {})) figures[`${c.id}.${k}`] = v;
  return {
    folder,
    lab: report.lab,
    variant,
    stage: report.stage,
    labSha256: createHash('sha256').update(labJson).digest('hex'),
    checkpoints: row,
    extras: { passed: extras.filter((c) => c.status === 'pass').length, of: extras.length },
    figures,
    total: checkpointIds.reduce((sum, id) => sum + row[id].points, 0),
    failures: report.checks.filter((c) => c.status !== 'pass' && c.status !== 'not-built' && c.status !== 'not-applicable').map((c) => `${c.id}: ${c.detail}`),
  };
}

/**
 * A lab whose check stopped before grading (it never reached its predicted steady state, e.g. the
 * wrong balancer holds the VIP): each checkpoint it should have built, and that ran, fails.
 */
export function gradeError(folder: string, labJson: string, lab: { name: string; variant: string | null; stage: Stage }, only: string | undefined, message: string): GradeRow {
  const row = {} as GradeRow['checkpoints'];
  for (const id of checkpointIds) {
    const grade: CheckpointGrade = only !== undefined && !id.startsWith(only) && !only.startsWith(`${id}.`) ? 'not-run' : builtBy(lab.stage, id) ? 'fail' : 'not-built';
    row[id] = { grade, weight: checkpoints[id].weight, points: 0 };
  }
  return {
    folder,
    lab: lab.name,
    variant: lab.variant,
    stage: lab.stage,
    labSha256: createHash('sha256').update(labJson).digest('hex'),
    checkpoints: row,
    extras: { passed: 0, of: 0 },
    figures: {},
    total: 0,
    failures: [`lab check stopped: ${message.split('\n')[0]}`],
  };
}

const csvCell = (value: string | number) => {
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

/** One line per lab: identity, each checkpoint's grade and points, extras, total (figures are in the JSON). */
export function gradeCsv(rows: GradeRow[]): string {
  const header = ['lab', 'folder', 'variant', 'stage', 'lab_sha256', ...checkpointIds.flatMap((id) => [id, `${id}_points`]), 'extras_passed', 'extras_run', 'total'];
  const lines = rows.map((r) => [r.lab, r.folder, r.variant ?? '', r.stage, r.labSha256, ...checkpointIds.flatMap((id) => [r.checkpoints[id].grade, r.checkpoints[id].points]), r.extras.passed, r.extras.of, r.total]);
  return `${[header, ...lines].map((l) => l.map(csvCell).join(',')).join('\n')}\n`;
}

export function gradeJson(rows: GradeRow[]): string {
  return `${JSON.stringify({ format: 'lab-grade/1', weights: Object.fromEntries(checkpointIds.map((id) => [id, checkpoints[id].weight])), labs: rows }, null, 2)}\n`;
}

/** The table for people, then each lab's failures. */
export function gradeMarkdown(rows: GradeRow[]): string {
  const head = ['lab', 'variant', 'stage', ...checkpointIds.map((id) => `${id} (${checkpoints[id].weight})`), 'sec + drills', 'total'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const cells = [r.lab, r.variant ?? '', r.stage, ...checkpointIds.map((id) => `${r.checkpoints[id].grade} ${r.checkpoints[id].points}`), `${r.extras.passed}/${r.extras.of}`, `**${r.total}**`];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  const failed = rows.filter((r) => r.failures.length > 0);
  if (failed.length > 0) {
    lines.push('');
    for (const r of failed) {
      lines.push(`${r.lab}:`);
      for (const f of r.failures) lines.push(`- ${f}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
