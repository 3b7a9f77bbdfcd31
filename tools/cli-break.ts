// `lab break`: hidden misconfigurations in a running lab for a student to find (`lab check`) and
// repair; `--reveal` says what they were and whether each is repaired now. The faults go into
// the running lab only; what was broken is sealed in a root-only record outside out/<name>/.
import { randomInt } from 'crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { dirname, join } from 'path';
import {
  BreakError,
  catalogue,
  catalogueRows,
  drawEntries,
  entryOf,
  injectFaults,
  recordPath,
  repairText,
  seal,
  unseal,
  type BreakRecord,
  type InjectedFault,
} from '../libs/checks/breakfix';
import type { Driver } from '../libs/targets/driver';
import { loadTwinLab, stateDir, TwinError } from '../libs/twin/twin';
import { runningDriver } from './cli-driver';
import { table } from './cli-table';

export interface BreakOptions {
  /** The rendered lab folder. */
  dir: string;
  /** The folder as typed (for the hint that brings the twin up), if it was. */
  typed?: string;
  target: 'twin' | 'vagrant';
  seed?: string;
  count: string;
  reveal: boolean;
  list: boolean;
  clear: boolean;
  add: boolean;
}

const faults = (n: number) => `${n} fault${n === 1 ? '' : 's'}`;

/** A whole number from `min`, or an error naming the option and the value. */
function wholeNumber(option: string, value: string, min: number, example: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) throw new TwinError(`--${option} ${value}: give a whole number from ${min} (e.g. --${option} ${example})`);
  return n;
}

function readRecord(file: string): BreakRecord | null {
  return existsSync(file) ? unseal(readFileSync(file, 'utf8'), file) : null;
}

/** Root only: the folder 0700 (when it is ours), the file 0600. */
function writeRecord(file: string, record: BreakRecord): void {
  const folder = dirname(file);
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  if (folder.startsWith('/var/lib/lab/')) chmodSync(folder, 0o700);
  writeFileSync(file, seal(record), { mode: 0o600 });
  chmodSync(file, 0o600);
}

const fixedNow = (driver: Driver, fault: InjectedFault) => entryOf(fault.id).isFixed(driver, fault);

/** The reveal: each fault, whether it is repaired now, what shows it and how to repair it. */
function reveal(driver: Driver, record: BreakRecord, say: (line: string) => void): void {
  const fixed = record.faults.map((f) => fixedNow(driver, f));
  say(`lab ${record.lab}: ${faults(record.faults.length)} injected ${record.at} (seed ${record.seed}), ${fixed.filter(Boolean).length} fixed now`);
  record.faults.forEach((f, i) => {
    say('');
    say(`${(fixed[i] ? 'fixed' : 'NOT FIXED').padEnd(9)}  ${f.id}: ${f.what}`);
    say(`           (${entryOf(f.id).summary})`);
    say(`           shown by: ${f.checks.map((c) => `lab check --only ${c}`).join(', ')}`);
    for (const step of f.repair) say(`           repair: ${repairText(step)}`);
  });
}

export function runBreak(options: BreakOptions, given: (option: string) => boolean, say: (line: string) => void): void {
  try {
    const modes = ['reveal', 'list', 'clear'].filter((m) => options[m as 'reveal' | 'list' | 'clear']);
    if (modes.length > 1) throw new TwinError(`--${modes.join(' and --')}: give one of them`);
    if (modes.length === 1) {
      const stray = ['seed', 'count', 'add'].filter(given);
      if (stray.length) throw new TwinError(`--${stray[0]} is for injecting faults; --${modes[0]} injects nothing`);
    }
    if (options.list) {
      // The lab, when there is one, only to say which entries fit it.
      const model = existsSync(join(options.dir, 'lab.json')) ? loadTwinLab(options.dir).model : undefined;
      say(table([['fault', 'what it breaks', ...(model ? [`in lab ${model.name}`] : [])], ...catalogueRows(model)]));
      say(`\n${catalogue.length} faults; lab break [lab] --count K --seed N injects K of those that fit the lab`);
      return;
    }
    const count = wholeNumber('count', options.count, 1, '2');
    const seed = options.seed === undefined ? randomInt(1, 1_000_000) : wholeNumber('seed', options.seed, 0, '7');
    const driver = runningDriver(loadTwinLab(options.dir), options.target, options.typed, ' (lab break changes a running lab)');
    const lab = driver.model.name;
    const file = recordPath(options.target, lab, stateDir(lab));
    const record = readRecord(file);

    if (options.clear) {
      rmSync(file, { force: true });
      say(record ? `lab ${lab}: forgot ${faults(record.faults.length)} (repaired or not: the lab is left as it is)` : `lab ${lab}: no sealed faults`);
      return;
    }
    if (options.reveal) {
      if (!record || record.faults.length === 0) throw new TwinError(`lab ${lab} has no sealed faults (${file} is absent): lab break injects some`);
      reveal(driver, record, say);
      return;
    }

    let kept: InjectedFault[] = [];
    if (record && record.faults.length > 0) {
      const open = record.faults.filter((f) => !fixedNow(driver, f));
      if (open.length > 0 && !options.add) {
        throw new TwinError(`lab ${lab} already has ${record.faults.length} sealed fault${record.faults.length === 1 ? '' : 's'}, ${open.length} not fixed yet: find them with lab check (lab break --reveal lists them); --add injects more beside them, --clear forgets them`);
      }
      // Repaired faults are done with; --add keeps the open ones (and draws nothing that would touch them).
      kept = open;
      if (open.length === 0) say(`lab ${lab}: the ${faults(record.faults.length)} sealed before are all fixed; a new exercise replaces them`);
    }
    const entries = drawEntries(driver.model, seed, count, kept.flatMap((f) => entryOf(f.id).tags));
    const next: BreakRecord = { format: 'lab-break/1', lab, target: options.target, seed, at: new Date().toISOString(), faults: [...kept] };
    // Sealed after each one: a failure midway loses none of those already in the lab.
    injectFaults(driver, seed, entries, (f) => {
      next.faults.push(f);
      writeRecord(file, next);
    });
    say(`lab ${lab}: ${faults(entries.length)} injected (seed ${seed})${kept.length ? `, beside ${kept.length} still open` : ''}, sealed in ${file} (root only).`);
    say('Find them with lab check; lab break --reveal says what they were and whether each is fixed now.');
  } catch (error) {
    throw error instanceof BreakError ? new TwinError(error.message) : error;
  }
}
