// The scaled-out lab (embedded scenario escala: practica6 on four hosts, nine servers, balancers on
// two) on the twin: `lab check --only cp4` passes on it, and `lab bench --load` (2 s per point)
// measures more throughput with 3 servers than with 1, each server held to its CPU quota; every
// namespace and cgroup is gone afterwards. Fast profile, own lab names (escalat, escalab-load).
// Needs root and wrk; under a minute on a quiet machine.
import { chmodSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { LoadReport } from '../libs/checks/load';
import { createContainerCgroup, labCgroups } from '../libs/twin/cgroup';
import { down, labNamespaces } from '../libs/twin/twin';
import { labCli } from './helpers';

const names = ['escalat', 'escalab-load'];
const base = mkdtempSync(join(tmpdir(), 'lab-escala-twin-'));
chmodSync(base, 0o755);
const cleanup = () => {
  for (const name of names) if (labNamespaces(name).length > 0 || labCgroups(name).length > 0) down(name, () => undefined);
};
process.on('exit', cleanup);
const cli = (...args: string[]) => labCli(args, 600_000);

const t = suite('escala on the twin');
t.before(cleanup);
t.after(() => {
  cleanup();
  rmSync(base, { recursive: true, force: true });
});

t('lab check --only cp4 passes on the four-host lab; its twin and cgroups are removed', () => {
  const r = cli('render', '--scenario', 'escala', '--name', 'escalat', '--profile', 'fast', '--out-dir', base);
  assert.is(r.status, 0, r.stderr);
  const check = cli('check', join(base, 'escalat'), '--only', 'cp4');
  console.log(check.stdout.split('\n').slice(-12).join('\n'));
  assert.is(check.status, 0, `${check.stdout}\n${check.stderr}`);
  assert.equal(labNamespaces('escalat'), []);
  assert.equal(labCgroups('escalat'), []);
});

t('twin down removes the cgroups a crashed run left behind, with no namespace left', () => {
  createContainerCgroup('escalat', 'serv1');
  assert.ok(labCgroups('escalat').length > 0);
  assert.equal(labNamespaces('escalat'), []);
  down('escalat', () => undefined);
  assert.equal(labCgroups('escalat'), []);
});

t('lab bench --load: 3 servers at 0.1 core each serve more than 1; the table names a limit', () => {
  const r = cli('bench', '--load', '--scenario', 'escala', '--name', 'escalab', '--profile', 'fast', '--servers', '1,3', '--duration', '2', '--json');
  assert.is(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as LoadReport;
  const vip = (n: number) => report.points.find((p) => p.path === 'vip' && p.servers === n)!;
  console.log(report.points.map((p) => `${p.path} ${p.servers}: ${p.requests_per_s} req/s, p50 ${p.latency.p50_ms} ms, p99 ${p.latency.p99_ms} ms; ${p.limit}`).join('\n'));
  for (const p of report.points) {
    assert.ok(p.requests_per_s > 0, `${p.path} ${p.servers}`);
    assert.ok(p.latency.p99_ms >= p.latency.p50_ms);
    assert.ok(p.limit.length > 0);
  }
  assert.is(vip(1).servers_quota, 0.1);
  assert.is(vip(3).servers_quota, 0.3);
  // One server at 0.1 core: its quota is the limit, and it is held to it (CFS lets a period overrun a little; cpuacct counts the softirq work done on its behalf).
  assert.match(vip(1).limit, /^servers/);
  assert.ok(vip(1).cpu.servers <= 0.13, `one server used ${vip(1).cpu.servers} cores with a quota of 0.1`);
  assert.ok(vip(3).requests_per_s > 1.5 * vip(1).requests_per_s, `3 servers: ${vip(3).requests_per_s} req/s, 1 server: ${vip(1).requests_per_s}`);
  assert.ok(report.points.some((p) => p.path === 'direct'));
  assert.equal(labNamespaces('escalab-load'), []);
  assert.equal(labCgroups('escalab-load'), []);
});

t.run();
