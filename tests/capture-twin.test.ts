// `lab capture` and link impairments on a practica6 twin (fast profile, own lab name: namespaces
// lab_captwin_*). A capture on a link through a VRRP failover and back, read by tshark: adverts
// from both balancers, the new master's gratuitous ARPs, STP BPDUs; stopped by SIGINT, leaving no
// tcpdump. A bounded capture to stdout, read through a pipe. The Vagrant driver's remote capture
// commands, run in a namespace. A bad target: a clear error. A 100 ms delay on a link: the ping
// across it 100 ms slower (at least), and `up` gives the time back. The bench's lossy
// balancer-loss drill, once. Needs root and tshark; about a minute and a half.
import { spawn, spawnSync } from 'child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { renderLab } from '../libs/render';
import { writeLab } from '../libs/render/write';
import { buildLab, readScenario } from '../libs/spec/load';
import { PassThrough } from 'stream';
import { remoteCapture, spawnCapture } from '../libs/targets/capture';
import { down, fault, labNamespaces, loadTwinLab, nsOf, shOn, up, wireNsOf, type TwinLab } from '../libs/twin/twin';
import { runBench } from '../libs/checks/bench';
import { twinDriver } from '../libs/targets/twin-driver';
import { labCli, labCliArgv, root } from './helpers';

const name = 'captwin';
const base = mkdtempSync(join(tmpdir(), 'lab-capture-twin-'));
chmodSync(base, 0o755);
const dir = join(base, name);
const cleanup = () => {
  if (labNamespaces(name).length > 0) down(name, () => undefined);
};
process.on('exit', cleanup);
const cli = (...args: string[]) => labCli([...args, '--lab', dir], 120_000);

/** Processes named tcpdump whose network namespace is one of this lab's. */
function labTcpdumps(): number[] {
  return labNamespaces(name).flatMap((ns) =>
    spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' })
      .stdout.split(/\s+/)
      .filter(Boolean)
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'tcpdump';
        } catch {
          return false;
        }
      })
      .map(Number),
  );
}

function tshark(file: string, filter: string, fields: string[]): string[][] {
  const r = spawnSync('tshark', ['-r', file, '-Y', filter, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean).map((l) => l.split('\t'));
}

/** Bounded wait on a condition checked with the lab's own commands. */
function waitFor(what: string, ms: number, check: () => boolean): void {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    spawnSync('sleep', ['0.1']);
  }
}

function avgRtt(lab: TwinLab, from: string, to: string): number {
  const r = shOn(lab, from, `ping -c 5 -i 0.2 -q ${to}`);
  const m = /= [\d.]+\/([\d.]+)\//.exec(r.stdout);
  assert.ok(m, `ping ${to} from ${from}: ${r.stdout}${r.stderr}`);
  return Number(m![1]);
}

const t = suite('lab capture and impairments on the twin');
let lab: TwinLab;
t.before(async () => {
  cleanup();
  writeLab(renderLab(buildLab(readScenario('practica6'), { source: 'practica6', name, profile: 'fast' })), dir);
  lab = loadTwinLab(dir);
  await up(lab, () => undefined);
});
t.after(() => {
  cleanup();
  rmSync(base, { recursive: true, force: true });
});

t('a capture through a failover shows both balancers\' adverts, the new master\'s gratuitous ARPs and BPDUs; SIGINT leaves no tcpdump', async () => {
  const { model } = lab;
  const group = model.vrrp[0];
  const master = group.members.find((m) => m.container === group.master)!;
  const backup = group.members.find((m) => m.container !== group.master)!;
  const external = (container: string) => model.containers.find((c) => c.name === container)!.nics.find((n) => n.subnet === group.subnet)!;
  const masterBridge = external(master.container).bridge;
  // A link of the backup's hypervisor: it hears the master before the failover and the backup after.
  const backupVm = model.containers.find((c) => c.name === backup.container)!.host;
  const link = model.links.find((l) => l.ends[1].vm === backupVm && model.bridges.find((b) => b.name === l.ends[1].bridge)?.stp)!;
  assert.ok(link, `a link ending on ${backupVm}'s STP bridge`);
  const holds = (container: string) => shOn(lab, container, 'ip -4 -o addr show').stdout.includes(` ${group.vip}/`);

  const file = join(base, 'failover.pcap');
  const [node, ...args] = labCliArgv('capture', link.id, '--lab', dir, '--for', '120', '-w', file);
  const child = spawn(node, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  waitFor('the capture to write packets', 15_000, () => existsSync(file) && statSync(file).size > 200);
  assert.is(labTcpdumps().length, 1, 'one tcpdump in the lab while capturing');

  fault(lab, masterBridge, 'down');
  try {
    waitFor(`${backup.container} holding the VIP`, 20_000, () => holds(backup.container));
    spawnSync('sleep', ['1']);
  } finally {
    fault(lab, masterBridge, 'up');
  }
  if (group.preempt) waitFor(`${master.container} holding the VIP again`, 30_000, () => holds(master.container) && !holds(backup.container));
  child.kill('SIGINT');
  const code = await exited;
  assert.is(code, 0, stderr);
  assert.match(stderr, /bytes of pcap \(stopped\)/);
  assert.equal(labTcpdumps(), [], 'no tcpdump left after SIGINT');

  const adverts = new Set(tshark(file, 'vrrp', ['ip.src']).map(([src]) => src));
  assert.ok(adverts.has(external(master.container).address), `adverts from ${master.container}: ${[...adverts]}`);
  assert.ok(adverts.has(external(backup.container).address), `adverts from ${backup.container}: ${[...adverts]}`);
  // keepalived announces the VIP with gratuitous ARPs (sender = target = the VIP) when it becomes master.
  const garps = tshark(file, `arp.isgratuitous == 1 && arp.src.proto_ipv4 == ${group.vip}`, ['eth.src']).map(([mac]) => mac);
  const newMasterMac = group.vipMac ?? external(backup.container).mac;
  assert.ok(garps.includes(newMasterMac.toLowerCase()), `gratuitous ARPs for ${group.vip} from ${newMasterMac}: ${[...new Set(garps)]}`);
  assert.ok(tshark(file, 'stp', ['stp.root.hw']).length > 0, 'BPDUs on the link');
});

t('a bounded capture to stdout is pcap a pipe can read (as into wireshark -k -i -), and its tcpdump is gone', () => {
  // A real pipe, as a shell makes it (Node's own stdio pipes are sockets, which tshark refuses).
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const log = join(base, 'stdout-capture.log');
  const capture = labCliArgv('capture', 'vswout2', '--lab', dir, '--for', '2', '--filter', 'vrrp').map(quote).join(' ');
  const r = spawnSync('sh', ['-c', `${capture} 2>${quote(log)} | tshark -r - -T fields -e vrrp.virt_rtr_id 2>/dev/null`], { cwd: root, encoding: 'utf8', timeout: 30_000 });
  assert.is(r.status, 0, r.stderr);
  assert.match(readFileSync(log, 'utf8'), /bytes of pcap \(time\)/);
  const vrids = new Set(r.stdout.split('\n').filter(Boolean));
  assert.equal([...vrids], [String(lab.model.vrrp[0].vrid)]);
  assert.equal(labTcpdumps(), []);
});

t("the Vagrant driver's remote capture, run in a twin namespace as ssh runs it on a VM: pcap out, and its stop leaves no tcpdump", async () => {
  const ns = nsOf(name, 'vm2');
  const { start, stop } = remoteCapture('vswout2', { filter: 'vrrp', seconds: 2 }, join(base, 'remote.pid'));
  const chunks: Buffer[] = [];
  const out = new PassThrough().on('data', (c: Buffer) => chunks.push(c));
  const capture = spawnCapture(['ip', 'netns', 'exec', ns, 'sh', '-c', start], out, {
    seconds: 2,
    // What the Vagrant driver runs after the ssh channel closed: the shell is gone, tcpdump is not.
    cleanup: () => spawnSync('ip', ['netns', 'exec', ns, 'sh', '-c', stop]),
  });
  const end = await capture.done;
  assert.is(end.reason, 'time');
  const pcap = Buffer.concat(chunks);
  assert.is(pcap.readUInt32LE(0), 0xa1b2c3d4, 'pcap magic');
  assert.ok(end.bytes === pcap.length && pcap.length > 100, `${pcap.length} bytes`);
  assert.equal(labTcpdumps(), []);
  assert.not.ok(existsSync(join(base, 'remote.pid')));
});

t('a target that does not exist: a clear error naming it and the valid ones, no tcpdump', () => {
  let r = cli('capture', 'swout9:vswout1', '--for', '1', '-w', join(base, 'x.pcap'));
  assert.is(r.status, 1);
  assert.match(r.stderr, 'unknown capture target "swout9:vswout1"');
  assert.match(r.stderr, 'swout1:vswout1');
  assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
  r = cli('capture', 'bal1:eth9', '--for', '1', '-w', join(base, 'x.pcap'));
  assert.is(r.status, 1);
  assert.match(r.stderr, 'bal1 has no interface "eth9"; its interfaces: eth0, eth1');
  assert.equal(labTcpdumps(), []);
});

t('a 100 ms delay on a link slows a ping across it by 100 ms or more; up removes it', () => {
  const user = lab.model.vms.find((v) => v.kind === 'user')!;
  const link = lab.model.links.find((l) => l.id === user.nics[0].link)!;
  const vip = lab.model.vrrp[0].vip;
  const before = avgRtt(lab, user.name, vip);
  let r = cli('twin', 'fault', link.id, '--delay', '100');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, `link ${link.id} impaired, each direction: delay 100 ms`);
  const slowed = avgRtt(lab, user.name, vip);
  assert.ok(slowed >= before + 100, `RTT ${before} ms → ${slowed} ms with a 100 ms delay`);
  r = cli('twin', 'fault', link.id, 'up');
  assert.is(r.status, 0, r.stderr);
  const healed = avgRtt(lab, user.name, vip);
  assert.ok(healed < before + 20, `RTT back to ${healed} ms after up (was ${before} ms)`);
  r = cli('twin', 'fault', link.id, '--loss', '150');
  assert.is(r.status, 1);
  assert.match(r.stderr, '--loss 150: give a percentage from 0 to 100');
  r = cli('twin', 'fault', 'vswout1', '--delay', '100');
  assert.is(r.status, 1);
  assert.match(r.stderr, 'vswout1 is a bridge: impairments apply to links');
});

t('the bench drill balancer-loss-lossy: measured with 5% loss on every external link, all of it healed after', () => {
  const report = runBench(twinDriver(lab), { runs: 1, only: ['balancer-loss-lossy'] });
  const [drill] = report.drills;
  assert.is(drill.id, 'balancer-loss-lossy');
  assert.is(drill.target, undefined);
  assert.ok(drill.outage_ms.max > 0 && drill.failed_requests.max > 0, JSON.stringify(drill.samples));
  // Healed: no relay (or netem) left in the wire namespace, and the VIP answers at once again.
  assert.is(spawnSync('ip', ['netns', 'pids', wireNsOf(name)], { encoding: 'utf8' }).stdout.trim(), '');
  assert.not.match(spawnSync('tc', ['-n', wireNsOf(name), 'qdisc', 'show'], { encoding: 'utf8' }).stdout, 'netem');
  const user = lab.model.vms.find((v) => v.kind === 'user')!.name;
  assert.match(shOn(lab, user, `ping -c 20 -i 0.05 -q ${lab.model.vrrp[0].vip}`).stdout, ' 0% packet loss');
});

t.run();
