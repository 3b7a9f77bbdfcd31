// The twin runs practica6 for real: namespaces, wires, kernel STP, VXLAN, keepalived, haproxy, Apache.
// Needs root and the Debian packages .ci/run installs. Everything it creates is prefixed with
// the test lab's name and removed at the end, also when a test fails.
import { spawn, spawnSync } from 'child_process';
import { chmodSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveLab } from '../libs/model/resolve';
import { renderLab } from '../libs/render';
import { writeLab } from '../libs/render/write';
import { down, fault, labNamespaces, loadTwinLab, runNetworkScript, shOn, status, stpMismatches, up, type TwinLab } from '../libs/twin/twin';
import { labCli, labCliArgv, practica6Spec, root } from './helpers';

const name = 'twintest';
const base = mkdtempSync(join(tmpdir(), 'lab-twin-'));
// Apache runs as www-data and must read the pages.
chmodSync(base, 0o755);
const dir = join(base, name);
writeLab(renderLab(resolveLab(practica6Spec(), { name, source: 'practica6' })), dir);
const lab: TwinLab = loadTwinLab(dir);
const url = 'http://172.16.1.254:8000/';
const rootLinks = () => spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).length;
const linksBefore = rootLinks();
const lines: string[] = [];

const cleanup = () => {
  if (labNamespaces(name).length > 0) down(name, () => undefined);
};
process.on('exit', cleanup);

const t = suite('twin of practica6 (seed profile)');

t.before(async () => {
  cleanup();
  const report = await up(lab, (line) => lines.push(line));
  console.log(`\n  twin up: full service after ${report.seconds.toFixed(1)} s (STP ${report.stpSeconds.toFixed(1)} s)`);
});

t.after(() => {
  cleanup();
  rmSync(base, { recursive: true, force: true });
});

t('up reports each step and a countdown while STP moves ports to forwarding', () => {
  assert.ok(lines.some((l) => l.includes('hosts/vm1/network.sh')));
  assert.ok(lines.some((l) => /STP: \d+ s to forwarding/.test(l)));
  assert.ok(lines.some((l) => l.includes('full service after')));
});

t('both users get the page through the VIP', () => {
  for (const user of ['usuario', 'usuario2']) {
    const page = shOn(lab, user, `curl -sf -m 3 ${url}`);
    assert.is(page.status, 0, `${user}: ${page.stderr}`);
    assert.match(page.stdout, /Esto es el servidor serv\d/);
  }
});

t('consecutive requests rotate over serv1, serv2, serv3 through bal1, whose inner address is the client', () => {
  const answers = Array.from({ length: 9 }, () => shOn(lab, 'usuario', `curl -sf -m 3 ${url}`).stdout);
  const servers = answers.map((a) => /server=(\S+)/.exec(a)?.[1]);
  for (let i = 0; i + 3 <= servers.length; i++) {
    assert.equal([...new Set(servers.slice(i, i + 3))].sort(), ['serv1', 'serv2', 'serv3'], servers.join(' '));
  }
  for (const a of answers) {
    assert.match(a, 'remote_addr=10.0.0.250');
    assert.match(a, 'balancer=bal1');
  }
});

t('bal1 holds the VIP, bal2 is backup', () => {
  assert.equal(status(lab).vrrp.map((v) => `${v.container}=${v.state}`), ['bal1=MASTER', 'bal2=BACKUP']);
  assert.match(shOn(lab, 'bal1', 'ip -4 -o addr show dev eth0').stdout, ' 172.16.1.254/24 ');
  assert.not.match(shOn(lab, 'bal2', 'ip -4 -o addr show dev eth0').stdout, '172.16.1.254');
});

t('every STP port is in the state the model predicts (swout1 blocks to-vswout2)', () => {
  assert.equal(stpMismatches(lab), []);
  assert.is(shOn(lab, 'swout1', 'cat /sys/class/net/swout1/brif/to-vswout2/state').stdout.trim(), '4');
  assert.is(shOn(lab, 'swout2', 'cat /sys/class/net/swout2/bridge/root_id').stdout.trim(), '1000.020000000401');
});

t('usuario cannot reach 10.0.0.0/24, not even with a route through the VIP', () => {
  assert.is.not(shOn(lab, 'usuario', 'curl -s -m 1 http://10.0.0.1/').status, 0);
  // A route via the VIP sends the packets to bal1: it does not forward them.
  shOn(lab, 'usuario', 'ip route add 10.0.0.0/24 via 172.16.1.254');
  try {
    assert.is.not(shOn(lab, 'usuario', 'curl -s -m 2 http://10.0.0.1/').status, 0);
  } finally {
    shOn(lab, 'usuario', 'ip route del 10.0.0.0/24 via 172.16.1.254');
  }
  assert.is(shOn(lab, 'bal1', 'cat /proc/sys/net/ipv4/ip_forward').stdout.trim(), '0');
});

t('a container sees only its own processes', () => {
  assert.is(shOn(lab, 'bal1', 'pidof haproxy >/dev/null').status, 0);
  assert.is.not(shOn(lab, 'bal1', 'pidof apache2').status, 0);
  assert.is(shOn(lab, 'serv1', 'pidof apache2 >/dev/null').status, 0);
  assert.is(shOn(lab, 'bal1', 'hostname').stdout.trim(), 'bal1');
  assert.match(shOn(lab, 'bal1', 'cat /etc/keepalived/keepalived.conf').stdout, 'vrrp_instance vrrpext');
  // Its network came from its own interfaces file (ifupdown-ng records what it brought up).
  assert.match(shOn(lab, 'bal1', 'cat /etc/network/interfaces').stdout, 'iface eth1 inet static');
  assert.match(shOn(lab, 'bal1', 'cat /run/ifstate').stdout, 'eth1=eth1 1');
  assert.match(shOn(lab, 'bal1', 'ip -o link show dev eth1').stdout, 'mtu 1450');
});

t('restarting one daemon leaves the other daemons\' files mounted as they are (no gap in which one reads empty)', () => {
  // A keepalived started just before haproxy once read an empty keepalived.conf: haproxy's start
  // had unmounted and remounted every file of the container.
  const mountOf = () => shOn(lab, 'bal1', "grep ' /etc/keepalived/keepalived.conf ' /proc/self/mountinfo | cut -d' ' -f1").stdout.trim();
  const before = mountOf();
  assert.ok(before, 'keepalived.conf is a bind mount');
  fault(lab, 'bal1:haproxy', 'down');
  fault(lab, 'bal1:haproxy', 'up');
  assert.is(mountOf(), before);
});

t('running the host network scripts a second time changes nothing', () => {
  // Everything but STP timers, which tick.
  const snapshot = (vm: string) =>
    shOn(lab, vm, "ip -d -o link show | sed -E 's/[a-z_]+_timer +[0-9.]+//g'; ip -o addr show; bridge fdb show | grep permanent || true").stdout;
  for (const vm of lab.model.vms) {
    const before = snapshot(vm.name);
    runNetworkScript(lab, vm);
    assert.fixture(snapshot(vm.name), before);
  }
  assert.equal(stpMismatches(lab), []);
});

t('fault bal1:haproxy down moves the VIP to bal2; up brings it back to bal1', async () => {
  const holder = () => status(lab).vrrp.filter((v) => v.state === 'MASTER').map((v) => v.container).join(',');
  const waitFor = async (want: string) => {
    for (let i = 0; i < 100 && holder() !== want; i++) await new Promise((r) => setTimeout(r, 100));
    return holder();
  };
  fault(lab, 'bal1:haproxy', 'down');
  try {
    assert.is(await waitFor('bal2'), 'bal2');
    const page = shOn(lab, 'usuario2', `curl -sf -m 3 ${url}`).stdout;
    assert.match(page, 'balancer=bal2');
    assert.match(page, 'remote_addr=10.0.0.251');
  } finally {
    fault(lab, 'bal1:haproxy', 'up');
  }
  assert.is(await waitFor('bal1'), 'bal1');
});

t('a restarted daemon reads a hand-edited file, also one an editor saved as a new file', () => {
  const page = join(dir, 'containers', 'serv1', 'index.php');
  const original = readFileSync(page, 'utf8');
  const served = () => shOn(lab, 'bal1', 'curl -sf -m 3 http://10.0.0.1/').stdout;
  // Saved like many editors do: a new file renamed over the old one (a new inode).
  writeFileSync(`${page}.new`, original.replace('server=', 'edited=yes server='));
  renameSync(`${page}.new`, page);
  try {
    fault(lab, 'serv1:apache2', 'down');
    fault(lab, 'serv1:apache2', 'up');
    let text = '';
    for (let i = 0; i < 50 && !(text = served()); i++) spawnSync('sleep', ['0.1']);
    assert.match(text, 'edited=yes server=serv1');
  } finally {
    writeFileSync(`${page}.new`, original);
    renameSync(`${page}.new`, page);
    fault(lab, 'serv1:apache2', 'down');
    fault(lab, 'serv1:apache2', 'up');
  }
  let text = '';
  for (let i = 0; i < 50 && !(text = served()); i++) spawnSync('sleep', ['0.1']);
  assert.not.match(text, 'edited=yes');
});

t('unknown fault targets are named, with the valid ones', () => {
  assert.throws(() => fault(lab, 'swout9', 'down'), /unknown fault target "swout9"; targets: swout1:vswout1/);
});

t('up on a running lab refuses', async () => {
  try {
    await up(lab, () => undefined);
    assert.unreachable('second up accepted');
  } catch (error) {
    assert.match((error as Error).message, `lab ${name} is already up`);
  }
  assert.ok(labNamespaces(name).length > 0, 'the running lab was left alone');
});

t('twin status through the CLI shows VRRP states and STP against the prediction', () => {
  const cli = labCli(['twin', 'status', dir]);
  assert.is(cli.status, 0, cli.stderr);
  assert.match(cli.stdout, /vrrpext\s+bal1\s+150\s+MASTER/);
  assert.match(cli.stdout, /swout1\s+to-vswout2\s+blocking\s+blocking\s+ok/);
  assert.not.match(cli.stdout, 'DIFFERS');
});

t('a link taken down leaves the far end\'s carrier up; an unplugged one takes it from both ends', () => {
  // The blocked link: nothing the other tests need changes when it fails.
  const carrier = (vm: string, ifname: string) => shOn(lab, vm, `cat /sys/class/net/${ifname}/carrier 2>/dev/null || echo none`).stdout.trim();
  const ends = () => `${carrier('swout1', 'to-vswout2')} ${carrier('vm2', 'to-swout1')}`;
  assert.is(ends(), '1 1');
  try {
    assert.match(fault(lab, 'swout1:vswout2', 'down'), 'vm2 to-swout1 keeps its carrier');
    // An interface that is down has no carrier to read.
    assert.is(ends(), 'none 1');
    fault(lab, 'swout1:vswout2', 'up');
    assert.is(ends(), '1 1');
    fault(lab, 'swout1:vswout2', 'unplug');
    assert.is(ends(), '0 0');
  } finally {
    fault(lab, 'swout1:vswout2', 'up');
  }
  assert.is(ends(), '1 1');
  assert.throws(() => fault(lab, 'vswout1', 'unplug'), /unplug pulls a link's cable: vswout1 is a bridge/);
});

t('down leaves no namespace, process, mount or veth behind', () => {
  const holders = lab.model.containers.map((c) => spawnSync('ip', ['netns', 'pids', `lab_${name}_${c.name}`], { encoding: 'utf8' }).stdout.split(/\s+/).filter(Boolean));
  assert.ok(holders.flat().length > 0);
  down(name, () => undefined);
  assert.equal(labNamespaces(name), []);
  // Gone, or a zombie waiting for this test process (their parent) to reap it: nothing runs.
  const alive = (pid: string) => {
    try {
      return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0] !== 'Z';
    } catch {
      return false;
    }
  };
  for (const pid of holders.flat()) assert.not.ok(alive(pid), `process ${pid} survived`);
  assert.not.match(readFileSync('/proc/self/mountinfo', 'utf8'), `lab_${name}_`);
  assert.is(rootLinks(), linksBefore);
});

t('down cleans up after an up that crashed half-way', async () => {
  const child = spawn(process.execPath, labCliArgv('twin', 'up', dir).slice(1), { cwd: root, stdio: 'ignore' });
  // Wait until it has built part of the lab, then kill it without a chance to clean up.
  for (let i = 0; i < 100 && labNamespaces(name).length < 8; i++) await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  assert.ok(labNamespaces(name).length > 0, 'the crash left namespaces behind');
  down(name, () => undefined);
  assert.equal(labNamespaces(name), []);
  assert.not.match(readFileSync('/proc/self/mountinfo', 'utf8'), `lab_${name}_`);
});

t.run();
