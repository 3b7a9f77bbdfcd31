// `lab bench --record <dir>`: the bench on a twin with a recorder beside it (tools/record-worker.ts,
// a process of its own), then, per drill run, <dir>/<profile>/<drill>-<run>/ with timeline.json,
// explanation.txt, plot.svg, plot.png and each user's segment as pcap, and <dir>/index.md.
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'fs';
import { join, relative } from 'path';
import { drills, type DrillRun } from '../libs/checks/bench';
import { buildTimeline, explain, leadMs, parsePackets, tsharkDisplayFilter, tsharkFields, type FaultRecord, type Timeline } from '../libs/checks/record';
import { renderPlot } from '../libs/checks/record-plot';
import type { LabModel } from '../libs/model/types';
import type { LiveEvent } from '../libs/observe/live';
import { eventsFile, recordPoints } from '../libs/observe/recorder';
import type { Driver } from '../libs/targets/driver';
import { TwinError } from '../libs/twin/twin';

const workspaceRoot = join(__dirname, '..');

/** Refuses what cannot be recorded before any lab comes up: a folder that is not there, a drill that does not exist. */
export function checkRecordArgs(dir: string, only: string[] | undefined): void {
  if (!existsSync(dir)) throw new TwinError(`--record ${dir}: no such folder; create it first (mkdir -p ${dir})`);
  if (!statSync(dir).isDirectory()) throw new TwinError(`--record ${dir}: not a folder; give the folder the recordings go into`);
  const known = drills.map((d) => d.id);
  const unknown = (only ?? []).filter((id) => !known.includes(id));
  if (unknown.length) throw new TwinError(`--drill ${unknown.join(', ')}: no such drill; drills: ${known.join(', ')}`);
  for (const tool of ['tshark', 'editcap']) {
    if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0) throw new TwinError(`--record needs ${tool}: apt-get install -y tshark`);
  }
}

/** A driver whose faults are also written down, with the time they were made. */
export function faultLogging(driver: Driver, faults: FaultRecord[]): Driver {
  return {
    ...driver,
    fault: (target, action) => {
      const t = driver.now();
      driver.fault(target, action);
      faults.push({ t, done: driver.now(), target, action });
    },
  };
}

export interface Recorder {
  child: ChildProcess;
  dir: string;
  stop(): Promise<void>;
}

/** Starts the recorder on a running twin lab; resolves once it listens. */
export function startRecorder(labDir: string, dir: string): Promise<Recorder> {
  mkdirSync(dir, { recursive: true });
  const child = spawn(process.execPath, ['-r', join(workspaceRoot, 'tools', 'register.js'), join(workspaceRoot, 'tools', 'record-worker.ts'), labDir, dir], {
    cwd: workspaceRoot,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin!.end();
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(killer);
  };
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      void stop();
      reject(new TwinError('the recorder did not start within 60 s'));
    }, 60_000);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (text: string) => {
      out += text;
      if (out.includes('ready\n')) {
        clearTimeout(timer);
        // The steady state before the first drill belongs in its timeline (leadMs of it).
        setTimeout(() => resolve({ child, dir, stop }), leadMs);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new TwinError(`the recorder stopped before it was ready (exit ${code})`));
    });
  });
}

const readEvents = (dir: string): LiveEvent[] =>
  readFileSync(join(dir, eventsFile), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as LiveEvent);

function tshark(args: string[]): string {
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new TwinError(`tshark ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** The adverts and gratuitous ARPs of the first user's segment (every user sees the same ones). */
function packetsOf(model: LabModel, dir: string) {
  const first = recordPoints(model)[0];
  if (!first) return [];
  const fields = tsharkFields.flatMap((f) => ['-e', f]);
  return parsePackets(tshark(['-r', join(dir, `${first.segment}.pcap`), '-Y', tsharkDisplayFilter, '-T', 'fields', '-E', 'separator=/t', ...fields]));
}

export interface RecordedRun {
  profile: string;
  dir: string;
  timeline: Timeline;
  explanation: string;
}

/** Writes one folder per drill run from a finished recording. */
export async function writeRecording(options: { model: LabModel; profile: string; recording: string; out: string; runs: DrillRun[]; faults: FaultRecord[] }): Promise<RecordedRun[]> {
  const { model, profile } = options;
  const live = readEvents(options.recording);
  const packets = packetsOf(model, options.recording);
  const written: RecordedRun[] = [];
  for (const run of options.runs) {
    const dir = join(options.out, profile, `${run.drill}-${run.run}`);
    mkdirSync(dir, { recursive: true });
    const timeline = buildTimeline({ model, profile, run, faults: options.faults, live, packets });
    const explanation = explain(timeline, model);
    const { svg, png } = await renderPlot(timeline);
    writeFileSync(join(dir, 'timeline.json'), `${JSON.stringify(timeline, null, 1)}\n`);
    writeFileSync(join(dir, 'explanation.txt'), `${explanation}\n`);
    writeFileSync(join(dir, 'plot.svg'), svg);
    writeFileSync(join(dir, 'plot.png'), png);
    // The run's slice of each segment's capture, with a second of context on either side.
    for (const p of recordPoints(model)) {
      const from = ((run.start - 1000) / 1000).toFixed(3);
      const to = ((run.end + 1000) / 1000).toFixed(3);
      const r = spawnSync('editcap', ['-A', from, '-B', to, join(options.recording, `${p.segment}.pcap`), join(dir, `${p.segment}.pcap`)], { encoding: 'utf8' });
      if (r.status !== 0) throw new TwinError(`editcap on ${p.segment}.pcap: ${r.stderr.trim()}`);
    }
    written.push({ profile, dir, timeline, explanation });
  }
  return written;
}

/** <dir>/index.md: every recorded run, its plot and its explanation. */
export function writeIndex(out: string, runs: RecordedRun[]): void {
  const lines = ['# Recorded bench', '', 'Made by `lab bench --record`. Each run: timeline.json (one clock: ms since the epoch), explanation.txt, plot.svg, plot.png and a pcap of each user\'s segment.', ''];
  for (const r of runs) {
    const rel = relative(out, r.dir);
    lines.push(`## ${r.profile}: ${r.timeline.drill}, run ${r.timeline.run}`, '', `![${r.timeline.drill}](${rel}/plot.png)`, '', r.explanation, '', `Files: [${rel}/](${rel}/)`, '');
  }
  writeFileSync(join(out, 'index.md'), lines.join('\n'));
}
