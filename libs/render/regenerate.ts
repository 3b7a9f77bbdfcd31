// Regeneration that keeps hand edits. Each render records, in <lab>/.lab/, the pristine text
// it generated and a manifest of hashes; the next render compares the files on disk with that
// record and decides, per file, to replace, keep, merge (three-way, diff3) or flag a conflict.
import { createHash } from 'crypto';
import { mergeDiff3 } from 'node-diff3';
import type { FileMap } from './index';

export const RECORD_DIR = '.lab';
export const MANIFEST = `${RECORD_DIR}/manifest.json`;
export const pristinePath = (path: string) => `${RECORD_DIR}/pristine/${path}`;

export interface Manifest {
  format: 'lab-manifest/1';
  /** sha256 of the generated text of every file. */
  files: Record<string, string>;
}

export type Action =
  | 'create' // new file
  | 'unchanged' // same text as on disk
  | 'replace' // untouched by hand: the new version replaces it
  | 'keep' // edited by hand, generated text unchanged: the edit stays
  | 'merge' // edited by hand and regenerated: both changes merged
  | 'conflict' // both changed the same lines: conflict markers in the file
  | 'deleted' // deleted by hand: stays deleted
  | 'remove' // no longer generated and untouched: removed
  | 'orphan' // no longer generated but edited by hand: kept
  | 'force'; // --force overwrote a hand edit or restored a deleted file

export interface Outcome {
  path: string;
  action: Action;
  /** What to write, for actions that write. */
  text?: string;
}

export interface Plan {
  outcomes: Outcome[];
  /** Files to write into .lab/: the pristine texts and the manifest. */
  record: FileMap;
  /** Pristine copies of files no longer generated. */
  staleRecord: string[];
  conflicts: string[];
}

/** Reads a file of the lab folder (path relative to it); null when it does not exist. */
export type ReadFile = (path: string) => string | null;

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const splitLines = (text: string) => text.split('\n');

export function merge3(ours: string, base: string, theirs: string): { text: string; conflict: boolean } {
  const { conflict, result } = mergeDiff3(splitLines(ours), splitLines(base), splitLines(theirs), {
    label: { a: 'edited by hand', o: 'generated before', b: 'generated now' },
  });
  return { text: result.join('\n'), conflict };
}

export function planRegeneration(files: FileMap, read: ReadFile, options: { force?: boolean } = {}): Plan {
  const previousText = read(MANIFEST);
  const previous: Manifest | null = previousText ? (JSON.parse(previousText) as Manifest) : null;
  const outcomes: Outcome[] = [];
  const paths = [...new Set([...Object.keys(files), ...Object.keys(previous?.files ?? {})])].sort();
  for (const path of paths) {
    const generated = files[path];
    const current = read(path);
    const recorded = previous?.files[path];
    const edited = current !== null && recorded !== undefined && sha256(current) !== recorded;
    if (generated === undefined) {
      // No longer generated.
      if (current === null) continue;
      outcomes.push({ path, action: edited && !options.force ? 'orphan' : 'remove' });
    } else if (current === null) {
      if (recorded !== undefined && !options.force) outcomes.push({ path, action: 'deleted' });
      else outcomes.push({ path, action: recorded !== undefined ? 'force' : 'create', text: generated });
    } else if (current === generated) {
      outcomes.push({ path, action: 'unchanged' });
    } else if (options.force) {
      outcomes.push({ path, action: 'force', text: generated });
    } else if (previous === null) {
      // No record of an earlier render: nothing says this file was edited.
      outcomes.push({ path, action: 'replace', text: generated });
    } else if (!edited && recorded !== undefined) {
      outcomes.push({ path, action: 'replace', text: generated });
    } else {
      const base = read(pristinePath(path)) ?? '';
      if (base === generated) {
        outcomes.push({ path, action: 'keep' });
      } else {
        const merged = merge3(current, base, generated);
        outcomes.push({ path, action: merged.conflict ? 'conflict' : 'merge', text: merged.text });
      }
    }
  }
  const manifest: Manifest = { format: 'lab-manifest/1', files: Object.fromEntries(Object.entries(files).map(([p, t]) => [p, sha256(t)])) };
  const record: FileMap = { [MANIFEST]: `${JSON.stringify(manifest, null, 2)}\n` };
  for (const [path, text] of Object.entries(files)) record[pristinePath(path)] = text;
  const staleRecord = Object.keys(previous?.files ?? {}).filter((p) => files[p] === undefined).map(pristinePath);
  return { outcomes, record, staleRecord, conflicts: outcomes.filter((o) => o.action === 'conflict').map((o) => o.path) };
}

const describe: Record<Action, string> = {
  create: 'created',
  unchanged: 'unchanged',
  replace: 'replaced (not edited by hand)',
  keep: 'kept (hand edit; generated text unchanged)',
  merge: 'merged (hand edit + new generated text)',
  conflict: 'CONFLICT: resolve the <<<<<<< markers',
  deleted: 'deleted by hand: stays deleted',
  remove: 'removed (no longer generated)',
  orphan: 'kept (no longer generated, but edited by hand)',
  force: 'overwritten (--force)',
};

/** Where each outcome's text goes, and which files go away: the same for the Nx tree and the disk. */
export function planWrites(plan: Plan): { write: FileMap; remove: string[] } {
  const write: FileMap = {};
  for (const o of plan.outcomes) if (o.text !== undefined) write[o.path] = o.text;
  Object.assign(write, plan.record);
  const remove = [...plan.outcomes.filter((o) => o.action === 'remove').map((o) => o.path), ...plan.staleRecord];
  return { write, remove };
}

/** The table every render ends with, the first one too: every file that did not stay as it was, then counts. */
export function summaryTable(plan: Plan, dryRun = false): string {
  const notable = plan.outcomes.filter((o) => o.action !== 'unchanged');
  const width = Math.max(4, ...notable.map((o) => o.path.length));
  const lines: string[] = [];
  if (notable.length > 0) {
    lines.push(`${'file'.padEnd(width)}  ${dryRun ? 'would be' : 'result'}`);
    for (const o of notable) lines.push(`${o.path.padEnd(width)}  ${describe[o.action]}`);
    lines.push('');
  }
  const counts = new Map<Action, number>();
  for (const o of plan.outcomes) counts.set(o.action, (counts.get(o.action) ?? 0) + 1);
  lines.push([...counts].map(([action, n]) => `${n} ${action}`).join(', '));
  if (plan.conflicts.length > 0) {
    lines.push(`${plan.conflicts.length} conflict${plan.conflicts.length > 1 ? 's' : ''}: ${plan.conflicts.join(', ')}`);
  }
  return lines.join('\n');
}
