// `lab class`: a class on one machine. One twin per student, side by side: each student's lab is
// rendered with their id as its name and variant (other subnets, VRID, priorities, root switch…)
// into <out-dir>/<id>/ and brought up. `lab class bench` measures how many such twins this machine
// holds with every one still serving (cp4.rotation), the memory each takes, and the time to bring
// one more up.
import { spawn } from 'child_process';
import { existsSync, readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import type { Argv } from 'yargs';
import { runChecks, type CheckReport } from '../libs/checks/suite';
import { renderLab } from '../libs/render';
import { regenerateLab } from '../libs/render/write';
import type { ProfileName } from '../libs/spec/profiles';
import { SpecError } from '../libs/spec/problems';
import type { SpecChoice } from '../libs/spec/load';
import { twinDriver } from '../libs/targets/twin-driver';
import { memAvailableKib } from '../libs/twin/system';
import { down, labNamespaces, loadTwinLab, status, twinMemory, up, type TwinLab } from '../libs/twin/twin';
import { fromCaller } from './cli-paths';
import { loadModel } from './cli-spec';
import { stats } from './stats';

type Say = (line: string) => void;

export interface ClassOptions extends SpecChoice {
  profile?: ProfileName;
  /** Parent folder of the students' lab folders. */
  outDir: string;
}

/**
 * Renders each student's lab (name and variant = their id) into <outDir>/<id>/; again keeps hand
 * edits. Every id is checked before any folder is written.
 */
export function renderStudents(ids: string[], options: ClassOptions): string[] {
  const models = ids.map((id) => loadModel(options, { profile: options.profile, name: id, variant: id }).model);
  return models.map((model) => {
    const dir = join(options.outDir, model.name);
    regenerateLab(renderLab(model), dir);
    return dir;
  });
}

/** The lab folders under outDir (each holds lab.json), sorted by name. */
export function classLabs(outDir: string): string[] {
  if (!existsSync(outDir)) return [];
  return readdirSync(outDir)
    .filter((d) => existsSync(join(outDir, d, 'lab.json')))
    .sort()
    .map((d) => join(outDir, d));
}

const loadAverage = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

/** Whether the lab's users are served in turn by every server (cp4.rotation; cp3.round-robin-like before cp4). */
function rotationPasses(lab: TwinLab, say: Say): { pass: boolean; detail: string } {
  try {
    const report = runChecks(twinDriver(lab), { only: 'cp4.rotation' });
    const c = report.checks[0];
    return { pass: c?.status === 'pass', detail: c ? `${c.status}: ${c.detail}` : 'no such check' };
  } catch (error) {
    say(`  ${lab.model.name}: ${(error as Error).message}`);
    return { pass: false, detail: (error as Error).message };
  }
}

export interface ClassBenchRow {
  twins: number;
  lab: string;
  upSeconds: number;
  /** MemAvailable before the first twin minus now (kernel memory included; other work on the machine adds noise). */
  memDropMib: number;
  pssMib: number;
  load1: number;
  newPasses: boolean;
  /** Twins passing cp4.rotation when all were checked at this step (null: not checked). */
  allPassing: number | null;
  checkAllSeconds: number | null;
}

export interface ClassBenchReport {
  profile: string;
  max: number;
  /** The most twins up at once with every one seen passing cp4.rotation (at a check of them all). */
  held: number;
  stoppedBecause: string;
  rows: ClassBenchRow[];
}

/**
 * Brings up twins one at a time (student ids `<prefix>1`, `<prefix>2`, …) until one fails, the
 * machine would have less than `reserveMib` available, or `max` are up. Each new twin must pass
 * cp4.rotation; every `every` twins (and at the end) every twin is checked again.
 */
export async function classBench(options: ClassOptions & { max: number; every: number; prefix: string; reserveMib: number; keep: boolean }, say: Say): Promise<ClassBenchReport> {
  const rows: ClassBenchRow[] = [];
  const labs: TwinLab[] = [];
  let stoppedBecause = `reached --max ${options.max}`;
  const checkAll = () => {
    const t0 = Date.now();
    const passing = labs.filter((l) => rotationPasses(l, say).pass).length;
    return { passing, seconds: (Date.now() - t0) / 1000 };
  };
  const baseline = memAvailableKib();
  try {
    for (let k = 1; k <= options.max; k++) {
      if (memAvailableKib() / 1024 < options.reserveMib) {
        stoppedBecause = `less than ${options.reserveMib} MiB available`;
        break;
      }
      const id = `${options.prefix}${k}`;
      const lab = loadTwinLab(renderStudents([id], options)[0]);
      if (labNamespaces(lab.model.name).length > 0) down(lab.model.name, () => undefined);
      let upSeconds: number;
      try {
        upSeconds = (await up(lab, () => undefined)).seconds;
      } catch (error) {
        stoppedBecause = `twin ${k} did not come up: ${(error as Error).message}`;
        break;
      }
      labs.push(lab);
      const memDropMib = (baseline - memAvailableKib()) / 1024;
      const fresh = rotationPasses(lab, say);
      const row: ClassBenchRow = { twins: k, lab: lab.model.name, upSeconds, memDropMib, pssMib: twinMemory(lab.model.name).pssKib / 1024, load1: loadAverage(), newPasses: fresh.pass, allPassing: null, checkAllSeconds: null };
      if (fresh.pass && (k % options.every === 0 || k === options.max)) {
        const all = checkAll();
        row.allPassing = all.passing;
        row.checkAllSeconds = all.seconds;
      }
      rows.push(row);
      say(`${String(k).padStart(3)} twins: ${lab.model.name} up in ${upSeconds.toFixed(1)} s, MemAvailable ${memDropMib.toFixed(0)} MiB less than before the first, PSS ${row.pssMib.toFixed(0)} MiB, load ${row.load1.toFixed(2)}, rotation ${fresh.pass ? 'pass' : `FAIL (${fresh.detail})`}${row.allPassing === null ? '' : `; all ${row.allPassing}/${k} pass (${row.checkAllSeconds!.toFixed(0)} s)`}`);
      if (!fresh.pass) {
        stoppedBecause = `twin ${k} fails cp4.rotation: ${fresh.detail}`;
        break;
      }
      if (row.allPassing !== null && row.allPassing < k) {
        stoppedBecause = `with ${k} twins up only ${row.allPassing} pass cp4.rotation`;
        break;
      }
    }
    // The last step checked only the newest twin: check them all once more.
    const last = rows[rows.length - 1];
    if (last && last.allPassing === null && last.newPasses) {
      const all = checkAll();
      last.allPassing = all.passing;
      last.checkAllSeconds = all.seconds;
      say(`all ${all.passing}/${labs.length} twins pass cp4.rotation (${all.seconds.toFixed(0)} s)`);
    }
  } finally {
    if (!options.keep) for (const lab of labs) down(lab.model.name, () => undefined);
  }
  // Held: as many as were up at the last check of every twin that they all passed.
  const held = Math.max(0, ...rows.filter((r) => r.allPassing === r.twins).map((r) => r.twins));
  return { profile: options.profile ?? 'seed', max: options.max, held, stoppedBecause, rows };
}

export function classBenchMarkdown(report: ClassBenchReport): string {
  const rows = report.rows;
  const lines = [
    `Twins of one lab each, side by side (profile ${report.profile}): ${report.held} held at once with every one passing cp4.rotation; stopped: ${report.stoppedBecause}.`,
    '',
    '| twins | lab | up (s) | MemAvailable drop since the start (MiB) | PSS (MiB) | load (1 min) | new twin: cp4.rotation | all twins pass |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.twins} | ${r.lab} | ${r.upSeconds.toFixed(1)} | ${r.memDropMib.toFixed(0)} | ${r.pssMib.toFixed(0)} | ${r.load1.toFixed(2)} | ${r.newPasses ? 'pass' : 'FAIL'} | ${r.allPassing === null ? '' : `${r.allPassing}/${r.twins} (${r.checkAllSeconds!.toFixed(0)} s)`} |`),
  ];
  if (rows.length > 0) {
    const up = stats(rows.map((r) => r.upSeconds));
    const pss = stats(rows.map((r) => r.pssMib));
    const half = Math.max(1, Math.floor(rows.length / 2));
    const firstHalf = stats(rows.slice(0, half).map((r) => r.upSeconds)).median;
    const secondHalf = stats(rows.slice(half).map((r) => r.upSeconds)).median ?? firstHalf;
    lines.push(
      '',
      `- Time to bring one more twin up: min ${up.min.toFixed(1)} s, median ${up.median.toFixed(1)} s, p90 ${up.p90.toFixed(1)} s, max ${up.max.toFixed(1)} s; median ${firstHalf.toFixed(1)} s for the first ${half}, ${secondHalf.toFixed(1)} s after (ratio ${(secondHalf / firstHalf).toFixed(2)}).`,
      `- Memory per twin: the processes' PSS median ${pss.median.toFixed(0)} MiB (min ${pss.min.toFixed(0)}, max ${pss.max.toFixed(0)}); MemAvailable fell ${(rows[rows.length - 1].memDropMib / rows.length).toFixed(0)} MiB per twin over the run (kernel memory included).`,
    );
  }
  return lines.join('\n');
}

/** `lab class up|down|status|bench`. */
export function classCommands(y: Argv, common: { scenarioOption: object; profileOption: object; defaultOutDir: string; say: Say; fail: (error: unknown) => never }) {
  const { say, fail } = common;
  const outDirOption = { type: 'string', default: common.defaultOutDir, describe: 'parent folder of the students\' lab folders' } as const;
  const specOptions = (a: Argv, outDir: string = common.defaultOutDir) =>
    a
      .option('spec', { type: 'string', describe: 'spec file (default: embedded practica6)' })
      .option('scenario', common.scenarioOption)
      .option('profile', common.profileOption)
      .option('out-dir', { ...outDirOption, default: outDir });
  return y
    .command(
      'up <students..>',
      'render one lab per student (its name and variant are the student id) and bring each twin up, side by side',
      (a) => specOptions(a).positional('students', { type: 'string', array: true, demandOption: true, describe: 'student ids: each becomes a lab name (a lower-case letter, then a-z, 0-9, -)' }),
      async (argv) => {
        try {
          const options = { spec: argv.spec, scenario: argv.scenario as string | undefined, profile: argv.profile as ProfileName | undefined, outDir: fromCaller(argv.outDir) };
          const students = (argv.students as string[]).map(String);
          // Every student's lab is checked before any is written or started: no half-started class.
          const dirs = renderStudents(students, options);
          for (const [i, dir] of dirs.entries()) {
            const lab = loadTwinLab(dir);
            if (labNamespaces(lab.model.name).length > 0) {
              say(`[${i + 1}/${dirs.length}] ${lab.model.name}: already up`);
              continue;
            }
            const report = await up(lab, () => undefined);
            say(`[${i + 1}/${dirs.length}] ${lab.model.name} (variant ${lab.model.variant}): up in ${report.seconds.toFixed(1)} s, ${dir}`);
          }
        } catch (error) {
          fail(error);
        }
      },
    )
    .command(
      'down',
      'take every twin of the class down',
      (a) => a.option('out-dir', outDirOption),
      (argv) => {
        try {
          for (const dir of classLabs(fromCaller(argv.outDir))) {
            const name = loadTwinLab(dir).model.name;
            if (labNamespaces(name).length > 0) down(name, () => undefined);
            say(`${name}: down`);
          }
        } catch (error) {
          fail(error);
        }
      },
    )
    .command(
      'status',
      'each student\'s twin: up or down, which balancer holds the VIP, STP ports as predicted',
      (a) => a.option('out-dir', outDirOption),
      (argv) => {
        try {
          const dirs = classLabs(fromCaller(argv.outDir));
          if (dirs.length === 0) throw new SpecError(argv.outDir, [{ pointer: '', value: argv.outDir, message: 'no lab folder here', hint: 'render the class first: lab class up <students…>' }]);
          for (const dir of dirs) {
            const lab = loadTwinLab(dir);
            if (labNamespaces(lab.model.name).length === 0) {
              say(`${lab.model.name}: down`);
              continue;
            }
            const s = status(lab);
            const masters = s.vrrp.filter((v) => v.state === 'MASTER').map((v) => `${v.group} ${v.container}`);
            const differ = s.stp.filter((p) => !p.ok).length;
            say(`${lab.model.name}: up; VIP ${masters.join(', ') || 'nobody'}; STP ${differ === 0 ? 'as predicted' : `${differ} ports differ`}`);
          }
        } catch (error) {
          fail(error);
        }
      },
    )
    .command(
      'bench',
      'how many twins this machine holds at once, each passing cp4.rotation; memory per twin; time to bring one more up',
      (a) =>
        specOptions(a, `${common.defaultOutDir}-bench`)
          .option('max', { type: 'number', default: 20, describe: 'stop after this many twins' })
          .option('every', { type: 'number', default: 5, describe: 'check every twin again after each this many' })
          .option('reserve', { type: 'number', default: 2048, describe: 'stop when less than this many MiB would be left available' })
          .option('keep', { type: 'boolean', default: false, describe: 'leave the twins up afterwards' })
          .option('json', { type: 'boolean', default: false, describe: 'print JSON (progress goes to stderr)' }),
      async (argv) => {
        const progress = (line: string) => (argv.json ? process.stderr : process.stdout).write(`${line}\n`);
        try {
          if (!(argv.max >= 1) || !(argv.every >= 1)) throw new SpecError('lab class bench', [{ pointer: '', value: `--max ${argv.max} --every ${argv.every}`, message: 'not a positive count', hint: 'e.g. --max 20 --every 5' }]);
          const report = await classBench(
            { spec: argv.spec, scenario: argv.scenario as string | undefined, profile: argv.profile as ProfileName | undefined, outDir: fromCaller(argv.outDir), max: argv.max, every: argv.every, prefix: 'alumno', reserveMib: argv.reserve, keep: argv.keep },
            progress,
          );
          say(argv.json ? JSON.stringify(report, null, 2) : `\n${classBenchMarkdown(report)}`);
        } catch (error) {
          fail(error);
        }
      },
    )
    .demandCommand(1, 'name a class command: up, down, status or bench');
}

/** How one lab's grading ended: its check report, or the error that stopped the check. */
export type LabOutcome = { folder: string; report: CheckReport } | { folder: string; error: string };

/**
 * Runs `lab check --json` on each lab folder in a process of its own, `jobs` at a time (twins side
 * by side, each brought up and taken down by its own check), with each line of progress prefixed
 * by the lab's place in the class. The outcomes come back in the folders' order.
 */
export async function checkLabs(folders: string[], options: { target: string; only?: string; jobs: number }, progress: Say): Promise<LabOutcome[]> {
  const outcomes: LabOutcome[] = new Array(folders.length);
  let next = 0;
  const cli = [...process.execArgv, process.argv[1]];
  const one = (i: number) =>
    new Promise<void>((done) => {
      const folder = folders[i];
      const tag = `[${i + 1}/${folders.length}] ${folder}:`;
      progress(`${tag} started`);
      const args = ['check', '--lab', folder, '--target', options.target, '--json', ...(options.only ? ['--only', options.only] : [])];
      const child = spawn(process.execPath, [...cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let partial = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => {
        stderr += d;
        const lines = (partial + d).split('\n');
        partial = lines.pop()!;
        for (const line of lines) progress(`${tag} ${line}`);
      });
      child.on('close', (status) => {
        try {
          outcomes[i] = { folder, report: JSON.parse(stdout) as CheckReport };
        } catch {
          const lines = stderr.trim().split('\n');
          outcomes[i] = { folder, error: lines[lines.length - 1] || `lab check ended with status ${status} and no report` };
        }
        done();
      });
    });
  const worker = async () => {
    while (next < folders.length) await one(next++);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.jobs, folders.length)) }, worker));
  return outcomes;
}
