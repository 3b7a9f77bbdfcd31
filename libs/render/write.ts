// The one place that touches the disk: writes a rendered lab into a folder, all or nothing.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'fs';
import { dirname, join } from 'path';
import type { FileMap } from './index';
import { planRegeneration, planWrites, type Plan } from './regenerate';

/** Files whose content starts with a shebang are made executable. */
export function isExecutable(text: string): boolean {
  return text.startsWith('#!');
}

function writeFiles(files: FileMap, dir: string): void {
  // Each folder once: a 60-container lab has 359 files in 70 folders.
  const made = new Set<string>();
  for (const [path, text] of Object.entries(files)) {
    const target = join(dir, path);
    if (!made.has(dirname(target))) {
      mkdirSync(dirname(target), { recursive: true });
      made.add(dirname(target));
    }
    writeFileSync(target, text);
    if (isExecutable(text)) chmodSync(target, 0o755);
  }
}

/**
 * Writes every file into a fresh sibling folder, then swaps it in place of `dir`, so a failure
 * never leaves a half-written lab behind.
 */
export function writeLab(files: FileMap, dir: string): void {
  const staging = `${dir}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  try {
    writeFiles(files, staging);
    const previous = `${dir}.old-${process.pid}`;
    if (existsSync(dir)) renameSync(dir, previous);
    mkdirSync(dirname(dir), { recursive: true });
    renameSync(staging, dir);
    rmSync(previous, { recursive: true, force: true });
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * Renders into an existing lab folder without losing hand edits (see regenerate.ts); a fresh
 * folder is written all at once. With dryRun, only the plan is returned.
 */
export function regenerateLab(files: FileMap, dir: string, options: { force?: boolean; dryRun?: boolean } = {}): Plan {
  const read = (path: string) => {
    try {
      return readFileSync(join(dir, path), 'utf8');
    } catch {
      return null;
    }
  };
  const plan = planRegeneration(files, read, options);
  if (options.dryRun) return plan;
  const { write, remove } = planWrites(plan);
  if (!existsSync(dir)) {
    writeLab(write, dir);
    return plan;
  }
  writeFiles(write, dir);
  for (const path of remove) rmSync(join(dir, path), { force: true });
  return plan;
}
