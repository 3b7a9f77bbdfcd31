// Benchmark (not a test): how render time, twin bring-up time and twin memory grow with the
// lab. Labs: practica6, then the scaled-out pattern (libs/spec/scale.ts) on 6 hosts with 30 and
// 60 containers, all in the fast profile. For each lab and each round: `lab render` as a user
// runs it (a process of its own, node start-up included) and the render alone in this process;
// `twin up` to full service, with where its time went; the memory the running twin holds (the
// PSS of its processes, and the fall in MemAvailable, which adds the kernel's namespaces,
// veths and bridges but moves with the page cache too: noise for a small lab); `twin down`.
// Prints the figures per lab and per container.
// Run as root: npm run bench:up [-- --rounds N] [--labs practica6,6x30,6x60]
import { spawnSync } from 'child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { renderLab } from '../libs/render';
import { writeLab } from '../libs/render/write';
import { buildLab, readScenario } from '../libs/spec/load';
import { scaledOutSpec } from '../libs/spec/scale';
import { down, labNamespaces, loadTwinLab, twinMemory, up, type UpReport } from '../libs/twin/twin';
import { memAvailableKib } from '../libs/twin/system';
import { table } from './cli-table';
import { stats } from './stats';

const arg = (flag: string, fallback: string) => {
  const at = process.argv.indexOf(flag);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const rounds = Number(arg('--rounds', '3'));
const labs = arg('--labs', 'practica6,6x30,6x60').split(',');

/** The spec text of a lab of the benchmark: an embedded scenario by name, or `<hosts>x<containers>`. */
function specOf(label: string): { name: string; text: string } {
  const scaled = /^(\d+)x(\d+)$/.exec(label);
  if (!scaled) return { name: `bu${label.replace(/[^a-z0-9]/g, '')}`.slice(0, 12), text: readScenario(label) };
  const [hosts, containers] = [Number(scaled[1]), Number(scaled[2])];
  return { name: `bu${hosts}x${containers}`, text: JSON.stringify(scaledOutSpec({ hosts, containers }), null, 2) };
}

const spread = (xs: number[], digits: number) => {
  const { min, median, max } = stats(xs);
  return `${median.toFixed(digits)} (${min.toFixed(digits)}–${max.toFixed(digits)})`;
};
const median = (xs: number[]) => stats(xs).median;
const settle = (ms: number) => spawnSync('sleep', [String(ms / 1000)]);

interface Round {
  renderCliS: number;
  renderS: number;
  up: UpReport;
  pssMiB: number;
  /** PSS by process name, KiB, and how many processes have that name. */
  byName: Map<string, { kib: number; count: number }>;
  availMiB: number;
  processes: number;
  downS: number;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: the twin needs network namespaces');
  const base = mkdtempSync(join(tmpdir(), 'lab-bench-up-'));
  chmodSync(base, 0o755);
  const rows: string[][] = [];
  const phaseRows: string[][] = [];
  const memoryRows: string[][] = [];
  let current = '';
  const stop = () => {
    if (current && labNamespaces(current).length > 0) down(current, () => undefined);
  };
  process.on('SIGINT', () => {
    stop();
    process.exit(130);
  });
  try {
    for (const label of labs) {
      const { name, text } = specOf(label);
      const specFile = join(base, `${name}.json`);
      writeFileSync(specFile, text);
      const model = buildLab(text, { source: label, name, profile: 'fast' });
      const dir = join(base, name);
      const results: Round[] = [];
      for (let r = 0; r < rounds; r++) {
        rmSync(dir, { recursive: true, force: true });
        let t = Date.now();
        const cli = spawnSync(process.execPath, ['-r', join(__dirname, 'register.js'), join(__dirname, 'cli.ts'), 'render', specFile, '--profile', 'fast', '--name', name, '--out-dir', base], { encoding: 'utf8' });
        const renderCliS = (Date.now() - t) / 1000;
        if (cli.status !== 0) throw new Error(`lab render ${specFile}: ${cli.stderr}`);
        t = Date.now();
        const files = renderLab(buildLab(text, { source: label, name, profile: 'fast' }));
        rmSync(dir, { recursive: true, force: true });
        writeLab(files, dir);
        const renderS = (Date.now() - t) / 1000;

        current = name;
        settle(1000);
        const before = memAvailableKib();
        const report = await up(loadTwinLab(dir), () => undefined);
        settle(2000);
        const { pssKib, processes, byName } = twinMemory(name);
        const availMiB = (before - memAvailableKib()) / 1024;
        t = Date.now();
        down(name, () => undefined);
        current = '';
        results.push({ renderCliS, renderS, up: report, pssMiB: pssKib / 1024, byName, availMiB, processes, downS: (Date.now() - t) / 1000 });
        process.stderr.write(`${label} round ${r + 1}: up ${report.seconds.toFixed(1)} s (${report.phases.map((p) => `${p.phase} ${p.seconds.toFixed(2)}`).join(', ')}), PSS ${(pssKib / 1024).toFixed(0)} MiB, MemAvailable −${availMiB.toFixed(0)} MiB\n`);
      }
      const n = model.containers.length;
      const ups = results.map((x) => x.up.seconds);
      rows.push([
        label,
        `${model.vms.filter((v) => v.kind === 'hypervisor').length}`,
        `${n}`,
        spread(results.map((x) => x.renderCliS), 2),
        spread(results.map((x) => x.renderS), 3),
        spread(ups, 1),
        spread(results.map((x) => x.up.stpSeconds), 1),
        `${((median(ups) * 1000) / n).toFixed(0)}`,
        spread(results.map((x) => x.pssMiB), 0),
        spread(results.map((x) => x.availMiB), 0),
        `${(median(results.map((x) => x.pssMiB)) / n).toFixed(1)}`,
        `${median(results.map((x) => x.processes))}`,
        spread(results.map((x) => x.downS), 1),
      ]);
      const phases = results[0].up.phases.map((p) => p.phase);
      phaseRows.push([label, ...phases.map((p) => median(results.map((x) => x.up.phases.find((y) => y.phase === p)?.seconds ?? 0)).toFixed(2))]);
      if (phaseRows.length === 1) phaseRows.unshift(['lab', ...phases]);
      const last = results[results.length - 1].byName;
      memoryRows.push([label, ...[...last].sort((a, b) => b[1].kib - a[1].kib).slice(0, 6).map(([k, v]) => `${k} ${(v.kib / 1024).toFixed(0)} MiB in ${v.count} processes`)]);
    }
  } finally {
    stop();
    rmSync(base, { recursive: true, force: true });
  }
  process.stdout.write(`\nTwin bring-up, fast profile, ${rounds} rounds each: median (min–max)\n\n`);
  process.stdout.write(
    `${table([['lab', 'hosts', 'containers', 'lab render s', 'render only s', 'up to full service s', 'STP s', 'ms per container', 'PSS MiB', 'MemAvailable −MiB', 'PSS MiB per container', 'processes', 'down s'], ...rows])}\n`,
  );
  process.stdout.write(`\nWhere the bring-up time goes (median seconds per phase)\n\n`);
  process.stdout.write(`${table(phaseRows)}\n`);
  process.stdout.write(`\nWhere the memory goes (PSS by process name, last round; the most first)\n\n`);
  process.stdout.write(`${memoryRows.map((r) => `${r[0]}: ${r.slice(1).join(', ')}`).join('\n')}\n`);
}

main().catch((error) => {
  process.stderr.write(`bench-up: ${(error as Error).message}\n`);
  process.exit(1);
});
