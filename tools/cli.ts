// `npm run lab -- <command>`: the same pipeline as `nx g lab:scenario`, for scripts and later tools.
import { spawnSync } from 'child_process';
import { existsSync, readFileSync, writeFileSync } from 'fs';
import { join, resolve } from 'path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { ProfileName } from '../libs/spec/profiles';
import { SpecError } from '../libs/spec/problems';
import { defaultScenario, embeddedScenarios, loadLab, specSource, type SpecChoice } from '../libs/spec/load';
import { renderLab } from '../libs/render';
import { fullStage, stageOf, stages } from '../libs/model/stage';
import { summaryTable } from '../libs/render/regenerate';
import { regenerateLab } from '../libs/render/write';
import { twinDriver } from '../libs/targets/twin-driver';
import { vagrantDriver } from '../libs/targets/vagrant-driver';
import { startView } from '../libs/view';
import { checkSummary, runChecks } from '../libs/checks/suite';
import { gradeCsv, gradeError, gradeJson, gradeMarkdown, gradeRow, type GradeRow } from '../libs/checks/grade';
import { benchMarkdown, runBench, type BenchReport } from '../libs/checks/bench';
import { chmodSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { faultActions } from '../libs/model/fault-target';
import { down, fault, labNamespaces, loadTwinLab, nsPrefix, onNode, status, TwinError, up, type StatusReport } from '../libs/twin/twin';
import { fromCaller, labWordAsOption } from './cli-paths';

const workspaceRoot = resolve(__dirname, '..');

/** The model of a spec file or embedded scenario, the name reports call it by, and its warnings (null when none). */
function loadModel(choice: SpecChoice, options: { profile?: ProfileName; name?: string; variant?: string }) {
  const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : undefined);
  const hint = 'give the path of a JSON lab spec, relative to the folder you run the command in';
  const { text, source } = specSource(choice, { read, locate: (path) => fromCaller(path), hint });
  return { ...loadLab(text, { ...options, source }), source };
}
const warn = (report: string | null) => report && process.stderr.write(`${report}\n`);

function fail(error: unknown): never {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(error instanceof SpecError || error instanceof TwinError ? 1 : 2);
}

const defaultLab = join(workspaceRoot, 'out', defaultScenario);
/** The rendered lab a command acts on: `--lab` (or the folder right after the command), else out/practica6. */
const labDir = (lab: string | undefined) => (lab === undefined ? defaultLab : fromCaller(lab));
const labOption = { type: 'string', describe: `rendered lab folder (default out/${defaultScenario}); it may also come right after the command` } as const;
const say = (line: string) => process.stdout.write(`${line}\n`);

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

function printStatus(report: StatusReport): void {
  say(`lab ${report.lab}: ${report.up ? 'up' : 'down'}`);
  say('');
  say(table([['node', 'kind', 'state'], ...report.nodes.map((n) => [n.name, n.kind, n.up ? 'up' : 'down'])]));
  say('');
  say(table([['container', 'daemon', 'state'], ...report.daemons.map((d) => [d.container, d.service, d.running ? 'running' : 'stopped'])]));
  say('');
  say(table([['vrrp group', 'member', 'priority', 'state'], ...report.vrrp.map((v) => [v.group, v.container, String(v.priority), v.state])]));
  say('');
  say(table([['bridge', 'port', 'predicted', 'actual', ''], ...report.stp.map((p) => [p.bridge, p.port, p.predicted, p.actual, p.ok ? 'ok' : 'DIFFERS'])]));
}

/** The driver that checks a lab: its twin, brought up when it is not (`started`: the caller takes it down), or its Vagrant VMs. */
async function openTarget(lab: ReturnType<typeof loadTwinLab>, target: 'twin' | 'vagrant', progress: (line: string) => void) {
  if (target === 'vagrant') return { driver: vagrantDriver(lab.model, lab.dir), started: false };
  const started = labNamespaces(lab.model.name).length === 0;
  if (started) await up(lab, progress);
  return { driver: twinDriver(lab), started };
}

const twinCommands = (y: ReturnType<typeof yargs>) =>
  y
    .command(
      'up [lab]',
      'build the lab in network namespaces with the real daemons',
      (a) =>
        a
          .positional('lab', labOption)
          .option('keep-on-failure', { type: 'boolean', default: false, describe: 'leave a failed lab in place to inspect it' }),
      async (argv) => {
        try {
          await up(loadTwinLab(labDir(argv.lab)), say, { keepOnFailure: argv.keepOnFailure });
        } catch (error) {
          fail(error);
        }
      },
    )
    .command(
      'down [lab]',
      'remove every namespace, process and veth of the lab (also after a crash)',
      (a) => a.positional('lab', labOption),
      (argv) => {
        try {
          down(loadTwinLab(labDir(argv.lab)).model.name, say);
        } catch (error) {
          fail(error);
        }
      },
    )
    .command(
      'status [lab]',
      'nodes, daemons, VRRP state per balancer, STP state per port against the prediction',
      (a) => a.positional('lab', labOption).option('json', { type: 'boolean', default: false }),
      (argv) => {
        try {
          const lab = loadTwinLab(labDir(argv.lab));
          // Without namespaces every port would read "absent DIFFERS": say what is wrong instead.
          if (labNamespaces(lab.model.name).length === 0) {
            const folder = argv.lab === undefined ? '' : ` ${argv.lab}`;
            throw new TwinError(`lab ${lab.model.name} is down (no network namespace ${nsPrefix(lab.model.name)}*): bring it up with sudo npm run lab -- twin up${folder}`);
          }
          const report = status(lab);
          if (argv.json) say(JSON.stringify(report, null, 2));
          else printStatus(report);
        } catch (error) {
          fail(error);
        }
      },
    )
    .command(
      'exec <node>',
      'run a command on a node (VM, switch, user or container): twin exec [lab] usuario -- curl …',
      (a) => a.positional('node', { type: 'string', demandOption: true }).option('lab', labOption),
      (argv) => {
        try {
          const command = ((argv['--'] as string[] | undefined) ?? []).map(String);
          if (command.length === 0) throw new TwinError('give the command after --, e.g. twin exec usuario -- curl -s http://172.16.1.254:8000/');
          const argvOnNode = onNode(loadTwinLab(labDir(argv.lab)), argv.node, command.length === 1 ? ['sh', '-c', command[0]] : command);
          const result = spawnSync(argvOnNode[0], argvOnNode.slice(1), { stdio: 'inherit' });
          process.exit(result.status ?? 1);
        } catch (error) {
          fail(error);
        }
      },
    )
    .command(
      'fault <target> <action>',
      'inject or heal a fault: a link (swout1:vswout1), a bridge, a VM, a container, or container:daemon; down is `ip link set … down` (a link: on its first end, the other keeps carrier), unplug pulls a link\'s cable (both ends lose carrier), up heals either',
      (a) =>
        a
          .positional('target', { type: 'string', demandOption: true })
          .positional('action', { choices: faultActions, demandOption: true })
          .option('lab', labOption),
      (argv) => {
        try {
          say(fault(loadTwinLab(labDir(argv.lab)), argv.target, argv.action));
        } catch (error) {
          fail(error);
        }
      },
    )
    .demandCommand(1, 'name a twin command: up, down, status, exec or fault');


const profileOption = { choices: ['seed', 'fast'] as const, describe: 'timer preset (default: the spec\'s, else seed)' };
const scenarioOption = { choices: embeddedScenarios(), describe: `an embedded scenario instead of a spec file (default ${defaultScenario})` };
const variantOption = { type: 'string', describe: 'a deterministic variant for one student (e.g. their id): other subnets, VRID, priorities, root switch, port costs, VNI, servers' } as const;

void yargs(labWordAsOption(hideBin(process.argv)))
  .scriptName('lab')
  .strict()
  .command(
    'validate [spec]',
    'validate a lab spec and print a summary of the resolved lab',
    (y) => y.positional('spec', { type: 'string', describe: 'spec file (default: embedded practica6)' }).option('scenario', scenarioOption).option('profile', profileOption).option('variant', variantOption),
    (argv) => {
      try {
        const { model, source, warningReport } = loadModel(argv, { profile: argv.profile, variant: argv.variant });
        warn(warningReport);
        const tree = model.spanningTree;
        process.stdout.write(
          [
            `${source}: valid (lab ${model.name}, profile ${model.profile}${model.variant === undefined ? '' : `, variant ${model.variant}`})`,
            `  ${model.vms.length} VMs, ${model.bridges.length} bridges, ${model.links.length} links, ${model.containers.length} containers`,
            `  STP root: ${tree.domains.map((d) => `${d.root} (${d.rootId})`).join(', ') || 'none'}`,
            `  blocked ports: ${tree.blocked.map((p) => `${p.bridge}/${p.ifname}`).join(', ') || 'none'}`,
            ...model.vrrp.map((g) => `  VRRP ${g.name} (VRID ${g.vrid}): master ${g.master}; ${g.members.map((m) => `${m.container} priority ${m.priority}, master-down ${m.masterDownInterval} s`).join('; ')}`),
            '',
          ].join('\n'),
        );
      } catch (error) {
        fail(error);
      }
    },
  )
  .command(
    'render [spec]',
    'render a lab into <out-dir>/<name>/',
    (y) =>
      y
        .positional('spec', { type: 'string', describe: 'spec file (default: embedded practica6)' })
        .option('scenario', scenarioOption)
        .option('profile', profileOption)
        .option('name', { type: 'string', describe: 'lab name and folder (default: the spec\'s)' })
        .option('out-dir', { type: 'string', default: join(workspaceRoot, 'out'), describe: 'parent folder of the lab folder' })
        .option('force', { type: 'boolean', default: false, describe: 'overwrite hand edits too (each is reported)' })
        .option('dry-run', { type: 'boolean', default: false, describe: 'print what each file would get; write nothing' })
        .option('stage', { choices: stages, default: fullStage, describe: 'build up to a checkpoint: bare, cp1 (STP), cp2 (VRRP), cp3 (servers, haproxy), cp4 (everything, with the VXLAN); again at a later stage into the same folder keeps hand edits' })
        .option('solutions', { type: 'boolean', default: true, describe: 'below cp4, fold each next step\'s solution into the guide (--no-solutions leaves them out)' })
        .option('variant', variantOption),
    (argv) => {
      try {
        const { model, warningReport } = loadModel(argv, { profile: argv.profile, name: argv.name, variant: argv.variant });
        warn(warningReport);
        const files = renderLab(model, { stage: argv.stage, solutions: argv.solutions });
        const dir = join(fromCaller(argv.outDir), model.name);
        const plan = regenerateLab(files, dir, { force: argv.force, dryRun: argv.dryRun });
        say(summaryTable(plan, argv.dryRun));
        say(`${model.name}: ${Object.keys(files).length} files ${argv.dryRun ? 'would be written to' : 'in'} ${dir}/${argv.stage === fullStage ? '' : ` (stage ${argv.stage})`}`);
        if (plan.conflicts.length > 0) {
          process.stderr.write(`${plan.conflicts.length} file(s) have conflict markers to resolve: ${plan.conflicts.join(', ')}\n`);
          process.exit(1);
        }
      } catch (error) {
        fail(error);
      }
    },
  )
  .command('twin', 'the lab in Linux network namespaces: up, down, status, exec, fault', twinCommands)
  .command(
    'bench [spec]',
    'measure every fault drill N times on the twin, per profile, beside the theory',
    (y) =>
      y
        .positional('spec', { type: 'string', describe: 'spec file (default: embedded practica6)' })
        .option('scenario', scenarioOption)
        .option('profile', { choices: ['seed', 'fast'] as const, describe: 'one profile (default: both, side by side)' })
        .option('runs', { type: 'number', default: 3, describe: 'runs per drill' })
        .option('drill', { type: 'string', array: true, describe: 'only these drills' })
        .option('json', { type: 'boolean', default: false, describe: 'print JSON (progress goes to stderr)' }),
    async (argv) => {
      const progress = (line: string) => (argv.json ? process.stderr : process.stdout).write(`${line}\n`);
      const reports: BenchReport[] = [];
      const base = mkdtempSync(join(tmpdir(), 'lab-bench-'));
      // Apache runs as www-data and must read the pages.
      chmodSync(base, 0o755);
      try {
        for (const profile of argv.profile ? [argv.profile] : (['seed', 'fast'] as const)) {
          const { model, warningReport } = loadModel(argv, { profile, name: undefined });
          warn(warningReport);
          const name = `${model.name}-${profile}`.slice(0, 31);
          const files = renderLab(loadModel(argv, { profile, name }).model);
          const dir = join(base, name);
          regenerateLab(files, dir);
          const lab = loadTwinLab(dir);
          progress(`== ${name}`);
          await up(lab, progress);
          try {
            reports.push(runBench(twinDriver(lab), { runs: argv.runs, only: argv.drill, say: progress }));
          } finally {
            down(lab.model.name, progress);
          }
        }
        if (argv.json) say(JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2));
        else say(`\n${benchMarkdown(reports)}`);
      } catch (error) {
        fail(error);
      } finally {
        rmSync(base, { recursive: true, force: true });
      }
    },
  )
  .command(
    'check [lab]',
    "grade a running lab: the handout's checkpoints, security and fault drills",
    (y) =>
      y
        .option('target', { choices: ['twin', 'vagrant'] as const, default: 'twin' as const, describe: 'the twin (brought up if it is not) or a Vagrant lab' })
        .positional('lab', labOption)
        .option('only', { type: 'string', describe: 'run only the checks whose id starts with this (cp2, drill.…)' })
        .option('json', { type: 'boolean', default: false, describe: 'print the JSON report (progress goes to stderr)' }),
    async (argv) => {
      const progress = (line: string) => (argv.json ? process.stderr : process.stdout).write(`${line}\n`);
      let started = false;
      try {
        const lab = loadTwinLab(labDir(argv.lab));
        const target = await openTarget(lab, argv.target, progress);
        started = target.started;
        const report = runChecks(target.driver, { only: argv.only, say: progress });
        if (argv.json) say(JSON.stringify(report, null, 2));
        else say(`\n${checkSummary(report)}`);
        if (started) down(lab.model.name, progress);
        process.exit(report.ok ? 0 : 1);
      } catch (error) {
        if (started) down(loadTwinLab(labDir(argv.lab)).model.name, progress);
        fail(error);
      }
    },
  )
  .command(
    'grade <labs..>',
    'grade a class: lab check on each lab folder in turn, one table per student and checkpoint (grade.csv, grade.json, grade.md)',
    (y) =>
      y
        .positional('labs', { type: 'string', array: true, demandOption: true, describe: 'rendered lab folders, one per student' })
        .option('target', { choices: ['twin', 'vagrant'] as const, default: 'twin' as const, describe: 'twins (each brought up if it is not, and taken down again) or Vagrant labs' })
        .option('only', { type: 'string', describe: 'run only the checks whose id starts with this (cp1, …)' })
        .option('out-dir', { type: 'string', default: '.', describe: 'folder that receives grade.csv, grade.json and grade.md' }),
    async (argv) => {
      const progress = (line: string) => process.stderr.write(`${line}\n`);
      const rows: GradeRow[] = [];
      try {
        const folders = argv.labs.map(String);
        for (const [i, folder] of folders.entries()) {
          const lab = loadTwinLab(labDir(folder));
          progress(`[${i + 1}/${folders.length}] ${folder}: lab ${lab.model.name}${lab.model.variant ? `, variant ${lab.model.variant}` : ''}`);
          let started = false;
          try {
            const target = await openTarget(lab, argv.target, (line) => progress(`  ${line}`));
            started = target.started;
            const labJson = readFileSync(join(lab.dir, 'lab.json'), 'utf8');
            try {
              const report = runChecks(target.driver, { only: argv.only, say: (line) => progress(`  ${line}`) });
              rows.push(gradeRow(folder, labJson, lab.model.variant ?? null, report));
            } catch (error) {
              // One lab that never settles must not stop the class: it is graded as failing.
              if (!(error instanceof Error)) throw error;
              progress(`  ${error.message}`);
              const { name, variant } = lab.model;
              rows.push(gradeError(folder, labJson, { name, variant: variant ?? null, stage: stageOf(lab.model) }, argv.only, error.message));
            }
            progress(`  total ${rows[rows.length - 1].total}`);
          } finally {
            if (started) down(lab.model.name, () => undefined);
          }
        }
        const dir = fromCaller(argv.outDir);
        writeFileSync(join(dir, 'grade.csv'), gradeCsv(rows));
        writeFileSync(join(dir, 'grade.json'), gradeJson(rows));
        writeFileSync(join(dir, 'grade.md'), gradeMarkdown(rows));
        say(gradeMarkdown(rows));
        say(`grade.csv, grade.json, grade.md in ${dir}/`);
      } catch (error) {
        fail(error);
      }
    },
  )
  .command(
    'view [lab]',
    'the running lab live in the browser: STP, VRRP, haproxy, daemons, requests, faults by clicking (127.0.0.1 only)',
    (y) =>
      y
        .positional('lab', labOption)
        .option('target', { choices: ['twin', 'vagrant'] as const, default: 'twin' as const, describe: 'the twin (must be up) or a Vagrant lab (polled over ssh)' })
        .option('port', { type: 'number', default: 0, describe: 'port on 127.0.0.1 (default: any free one)' }),
    async (argv) => {
      try {
        const lab = loadTwinLab(labDir(argv.lab));
        if (argv.target === 'twin' && labNamespaces(lab.model.name).length === 0) {
          const folder = argv.lab === undefined ? '' : ` ${argv.lab}`;
          throw new TwinError(`lab ${lab.model.name} is down: bring it up first with sudo npm run lab -- twin up${folder}`);
        }
        const view = await startView(argv.target === 'twin' ? twinDriver(lab) : vagrantDriver(lab.model, lab.dir), { port: argv.port });
        say(`live view of ${lab.model.name} (${argv.target}): ${view.server.url}  (Ctrl-C stops it)`);
        const stop = () => void view.stop().then(() => process.exit(0));
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      } catch (error) {
        fail(error);
      }
    },
  )
  .demandCommand(1, 'name a command: validate, render or twin')
  .parserConfiguration({ 'populate--': true })
  .help()
  .parse();
