// `npm run lab -- <command>`: the same pipeline as `nx g lab:scenario`, for scripts and later tools.
import { spawnSync } from 'child_process';
import { readFileSync, writeFileSync } from 'fs';
import { join, resolve } from 'path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { SpecError } from '../libs/spec/problems';
import { defaultScenario, embeddedScenarios } from '../libs/spec/load';
import { renderLab } from '../libs/render';
import { fullStage, stageOf, stages } from '../libs/model/stage';
import { summaryTable } from '../libs/render/regenerate';
import { regenerateLab } from '../libs/render/write';
import { twinDriver } from '../libs/targets/twin-driver';
import { vagrantDriver } from '../libs/targets/vagrant-driver';
import { checkSummary, runChecks } from '../libs/checks/suite';
import { gradeCsv, gradeError, gradeJson, gradeMarkdown, gradeRow, type GradeRow } from '../libs/checks/grade';
import { benchMarkdown, idleWatch, runBench, type BenchReport, type IdleReport } from '../libs/checks/bench';
import { chmodSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { faultActions } from '../libs/model/fault-target';
import { impairmentOf, wantsImpairment } from '../libs/model/impairment';
import { down, fault, impair, labNamespaces, loadTwinLab, nsPrefix, onNode, status, TwinError, up, type StatusReport } from '../libs/twin/twin';
import { fromCaller, labWordAsOption } from './cli-paths';
import { captureCommand, runCapture } from './cli-capture';
// Loaded when a command needs them (charting, the view's server, YAML): `lab render` starts sooner.
import type { Recorder, RecordedRun } from './cli-record';
import type { DrillRun } from '../libs/checks/bench';
import type { FaultRecord } from '../libs/checks/record';
import { checkLabs, classCommands } from './class';
import { loadModel } from './cli-spec';
import { runningDriver } from './cli-driver';
import { table } from './cli-table';
import { benchLoad } from './cli-load';
import { runBreak } from './cli-break';

const workspaceRoot = resolve(__dirname, '..');

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
async function openTarget(lab: ReturnType<typeof loadTwinLab>, target: 'twin' | 'vagrant' | 'ssh', progress: (line: string) => void, inventory?: string) {
  if (target === 'vagrant') return { driver: vagrantDriver(lab.model, lab.dir), started: false };
  // Real hosts: the inventory given, else the one rendered in the lab folder (addresses filled in).
  if (target === 'ssh') return { driver: (await import('../libs/targets/ssh-driver')).sshDriver(lab.model, inventory ? fromCaller(inventory) : join(lab.dir, 'ansible', 'inventory.yml')), started: false };
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
      'fault <target> [action]',
      'inject or heal a fault: a link (swout1:vswout1), a bridge, a VM, a container, or container:daemon; down is `ip link set … down` (a link: on its first end, the other keeps carrier), unplug pulls a link\'s cable (both ends lose carrier), up heals either. A link may instead be impaired, both directions alike (netem): twin fault swout1:vswout1 --delay 100 --jitter 10 --loss 5 --rate 1mbit; up heals it too',
      (a) =>
        a
          .positional('target', { type: 'string', demandOption: true })
          .positional('action', { choices: faultActions })
          .option('delay', { type: 'number', describe: 'impair a link: add this many ms to each frame, each direction' })
          .option('jitter', { type: 'number', describe: 'impair a link: ± this many ms around the delay' })
          .option('loss', { type: 'number', describe: 'impair a link: drop this percentage of frames, each direction' })
          .option('rate', { type: 'string', describe: 'impair a link: its speed, as tc writes it (1mbit, 512kbit)' })
          .option('lab', labOption),
      (argv) => {
        try {
          const lab = loadTwinLab(labDir(argv.lab));
          if (wantsImpairment(argv)) {
            if (argv.action !== undefined) throw new TwinError(`give either an action (${argv.action}) or an impairment (--delay, --jitter, --loss, --rate), not both; \`twin fault ${argv.target} up\` heals an impairment`);
            const impairment = impairmentOf(argv);
            if (impairment instanceof Error) throw new TwinError(impairment.message);
            say(impair(lab, argv.target, impairment).message);
            return;
          }
          if (argv.action === undefined) throw new TwinError(`give an action (${faultActions.join(', ')}) or, for a link, an impairment (--delay MS, --jitter MS, --loss PCT, --rate RATE)`);
          say(fault(lab, argv.target, argv.action));
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
  .command('class', 'a class on one machine: one twin per student, side by side (up, down, status, bench)', (y) =>
    classCommands(y, { scenarioOption, profileOption, defaultOutDir: join(workspaceRoot, 'out', 'class'), say, fail }),
  )
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
        .option('idle', { type: 'number', describe: 'instead of the drills: leave the lab untouched this many seconds and count the VIP changes seen (false failovers)' })
        .option('probe-ms', { type: 'number', default: 50, describe: "one request every this many ms on each user's probe; below 50 the requests overlap (python3 on the user), so an outage is measured to that step" })
        .option('json', { type: 'boolean', default: false, describe: 'print JSON (progress goes to stderr)' })
        .option('record', { type: 'string', describe: "an existing folder: a timeline, plot (SVG, PNG), explanation and pcaps per drill run, and index.md" })
        .option('name', { type: 'string', describe: "the twin labs' name before -<profile> (default: the spec's name)" })
        .option('load', { type: 'boolean', default: false, describe: 'throughput and latency instead of the drills: wrk on a user through the VIP with --servers in rotation, and straight to one server' })
        .option('servers', { type: 'string', describe: "with --load: the server counts, one point each (default 1,3,6,9 below the backend's size, and all)" })
        .option('duration', { type: 'number', default: 5, describe: 'with --load: seconds of wrk per point' })
        .option('cpu', { type: 'number', default: 0.1, describe: "with --load: each server's CPU quota in cores (its own cgroup)" })
        .option('balancer-cpu', { type: 'number', describe: "with --load: each balancer's CPU quota in cores (default: none)" })
        .option('work', { type: 'number', default: 2000, describe: 'with --load: sha1 rounds per request (index.php?work=N)' })
        .option('connections', { type: 'number', default: 32, describe: 'with --load: wrk connections' })
        .option('threads', { type: 'number', default: 1, describe: 'with --load: wrk threads' }),
    async (argv) => {
      const progress = (line: string) => (argv.json ? process.stderr : process.stdout).write(`${line}\n`);
      if (argv.load) {
        try {
          await benchLoad({ ...argv, profile: argv.profile, balancerCpu: argv.balancerCpu }, say, progress);
        } catch (error) {
          fail(error);
        }
        return;
      }
      const reports: BenchReport[] = [];
      const idleReports: IdleReport[] = [];
      const recordDir = argv.record === undefined ? undefined : fromCaller(argv.record);
      const recorded: RecordedRun[] = [];
      // Charting and pcap reading: loaded only for --record.
      const record = recordDir ? await import('./cli-record') : undefined;
      try {
        if (recordDir) record!.checkRecordArgs(recordDir, argv.drill);
        if (argv.idle !== undefined && !(argv.idle > 0)) throw new TwinError(`--idle ${argv.idle}: give the seconds to watch, e.g. --idle 600`);
        if (!(argv.probeMs >= 1)) throw new TwinError(`--probe-ms ${argv.probeMs}: give the ms between a probe's requests, from 1 (e.g. 10)`);
      } catch (error) {
        fail(error);
      }
      const base = mkdtempSync(join(tmpdir(), 'lab-bench-'));
      // Apache runs as www-data and must read the pages.
      chmodSync(base, 0o755);
      try {
        for (const profile of argv.profile ? [argv.profile] : (['seed', 'fast'] as const)) {
          const { model, warningReport } = loadModel(argv, { profile, name: undefined });
          warn(warningReport);
          const name = `${argv.name ?? model.name}-${profile}`.slice(0, 31);
          const files = renderLab(loadModel(argv, { profile, name }).model);
          const dir = join(base, name);
          regenerateLab(files, dir);
          const lab = loadTwinLab(dir);
          progress(`== ${name}`);
          await up(lab, progress);
          let recorder: Recorder | undefined;
          try {
            if (argv.idle !== undefined) idleReports.push(await idleWatch(twinDriver(lab), argv.idle, progress));
            else if (!recordDir) reports.push(runBench(twinDriver(lab), { runs: argv.runs, only: argv.drill, probeMs: argv.probeMs, say: progress }));
            else {
              const raw = join(recordDir, profile, 'recording');
              recorder = await record!.startRecorder(dir, raw);
              const faults: FaultRecord[] = [];
              const runs: DrillRun[] = [];
              reports.push(runBench(record!.faultLogging(twinDriver(lab), faults), { runs: argv.runs, only: argv.drill, probeMs: argv.probeMs, say: progress, onRun: (run) => runs.push(run) }));
              await recorder.stop();
              recorded.push(...(await record!.writeRecording({ model: lab.model, profile, recording: raw, out: recordDir, runs, faults })));
            }
          } finally {
            await recorder?.stop();
            down(lab.model.name, progress);
          }
        }
        if (recordDir) {
          record!.writeIndex(recordDir, recorded);
          for (const r of recorded) progress(`${r.dir}: ${r.explanation}`);
          progress(`recorded into ${recordDir} (index.md)`);
        }
        if (argv.idle !== undefined) {
          if (argv.json) say(JSON.stringify(idleReports.length === 1 ? idleReports[0] : idleReports, null, 2));
          else for (const i of idleReports) say(`${i.lab} (${i.profile}): ${i.vipChanges.length} VIP changes in ${i.seconds} s untouched; VIP held by ${Object.entries(i.holders.end).map(([g, h]) => `${g} ${h.join(', ')}`).join('; ')}`);
        } else if (argv.json) say(JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2));
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
        .option('target', { choices: ['twin', 'vagrant', 'ssh'] as const, default: 'twin' as const, describe: 'the twin (brought up if it is not), a Vagrant lab, or real hosts over ssh (see --inventory)' })
        .option('inventory', { type: 'string', describe: "with --target ssh: the Ansible inventory of the hosts (default: the lab's ansible/inventory.yml)" })
        .positional('lab', labOption)
        .option('only', { type: 'string', describe: 'run only the checks whose id starts with this (cp2, drill.…)' })
        .option('json', { type: 'boolean', default: false, describe: 'print the JSON report (progress goes to stderr)' }),
    async (argv) => {
      const progress = (line: string) => (argv.json ? process.stderr : process.stdout).write(`${line}\n`);
      let started = false;
      try {
        const lab = loadTwinLab(labDir(argv.lab));
        const target = await openTarget(lab, argv.target, progress, argv.inventory);
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
    'break [lab]',
    'break-fix exercises: inject hidden faults into a running lab (sealed, for `lab check` to show), reveal them and whether each is fixed (--reveal), the catalogue (--list)',
    (y) =>
      y
        .positional('lab', labOption)
        .option('target', { choices: ['twin', 'vagrant'] as const, default: 'twin' as const, describe: 'the twin (must be up) or a Vagrant lab' })
        .option('seed', { type: 'string', describe: 'the draw: the same seed and lab give the same faults (default: a random one)' })
        .option('count', { type: 'string', default: '2', describe: 'how many faults to inject' })
        .option('reveal', { type: 'boolean', default: false, describe: 'list what was broken and whether each fault is fixed now' })
        .option('list', { type: 'boolean', default: false, describe: 'the catalogue, and which entries apply to the lab (reveals nothing injected)' })
        .option('add', { type: 'boolean', default: false, describe: 'inject more faults beside those already sealed' })
        .option('clear', { type: 'boolean', default: false, describe: 'forget the sealed faults (does not repair them)' }),
    (argv) => {
      try {
        const given = (name: string) => process.argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`));
        runBreak({ dir: labDir(argv.lab), typed: argv.lab, target: argv.target, seed: argv.seed, count: argv.count, reveal: argv.reveal, list: argv.list, clear: argv.clear, add: argv.add }, given, say);
      } catch (error) {
        fail(error);
      }
    },
  )
  .command(
    'grade <labs..>',
    'grade a class: lab check on each lab folder, in turn or --jobs at a time; one table per student and checkpoint (grade.csv, grade.json, grade.md)',
    (y) =>
      y
        .positional('labs', { type: 'string', array: true, demandOption: true, describe: 'rendered lab folders, one per student' })
        .option('target', { choices: ['twin', 'vagrant', 'ssh'] as const, default: 'twin' as const, describe: "twins (each brought up if it is not, and taken down again), Vagrant labs, or real hosts (each lab's ansible/inventory.yml)" })
        .option('only', { type: 'string', describe: 'run only the checks whose id starts with this (cp1, …)' })
        .option('out-dir', { type: 'string', default: '.', describe: 'folder that receives grade.csv, grade.json and grade.md' })
        .option('jobs', { type: 'number', default: 1, describe: 'labs checked at a time (each in a process of its own; timings are measured under their shared load)' }),
    async (argv) => {
      const progress = (line: string) => process.stderr.write(`${line}\n`);
      try {
        if (!Number.isInteger(argv.jobs) || argv.jobs < 1) throw new TwinError(`--jobs ${argv.jobs}: give how many labs to check at a time, a whole number from 1 (e.g. --jobs 2)`);
        const folders = argv.labs.map(String);
        // Every folder is read before any check starts: a typo stops the class at once.
        const labs = folders.map((folder) => loadTwinLab(labDir(folder)));
        for (const [i, lab] of labs.entries()) progress(`[${i + 1}/${labs.length}] ${folders[i]}: lab ${lab.model.name}${lab.model.variant ? `, variant ${lab.model.variant}` : ''}`);
        const outcomes = await checkLabs(labs.map((l) => l.dir), { target: argv.target, only: argv.only, jobs: argv.jobs }, progress);
        const rows: GradeRow[] = outcomes.map((outcome, i) => {
          const { model, dir } = labs[i];
          const labJson = readFileSync(join(dir, 'lab.json'), 'utf8');
          // One lab that never settles must not stop the class: it is graded as failing.
          if ('error' in outcome) return gradeError(folders[i], labJson, { name: model.name, variant: model.variant ?? null, stage: stageOf(model) }, argv.only, outcome.error);
          return gradeRow(folders[i], labJson, model.variant ?? null, outcome.report);
        });
        rows.forEach((row, i) => progress(`[${i + 1}/${rows.length}] ${folders[i]}: total ${row.total}${row.failures.length ? ` (${row.failures.length} not passed)` : ''}`));
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
    'capture <where>',
    'capture packets on a running lab (tcpdump): a link, a bridge or node:interface; pcap to -w FILE or to stdout (| wireshark -k -i -)',
    (y) => captureCommand(y, { labDir, labOption, fail }),
    (argv) => runCapture(argv, { labDir, labOption, fail }),
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
        const driver = runningDriver(lab, argv.target, argv.lab);
        const { startView } = await import('../libs/view');
        const view = await startView(driver, { port: argv.port });
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
