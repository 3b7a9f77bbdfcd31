// The live view without a running lab: the ELK layout, the monitor-line parsers, the server's
// refusals (no token, another origin, another Host, bad input) and the Vagrant target's polling,
// through drivers that record what they are asked.
import { readFileSync } from 'fs';
import { request } from 'http';
import { join } from 'path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LiveLab } from '../libs/observe/live';
import type { Driver, ExecResult } from '../libs/targets/driver';
import type { TargetEvent } from '../libs/targets/events';
import { parseAddressMonitor, parseBridgeMonitor, parseHaproxyLog, parseLinkMonitor, parseServersState } from '../libs/targets/events';
import { vagrantDriver } from '../libs/targets/vagrant-driver';
import { startView } from '../libs/view';
import { layoutLab } from '../libs/view/layout';
import { practica6, root } from './helpers';

function call(port: number, method: string, path: string, options: { headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: options.headers }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A driver of practica6 that answers every command with nothing and records faults. */
function recordingDriver(faults: string[]): Driver {
  return { name: 'twin', model: practica6(), exec: () => ({ status: 0, stdout: '', stderr: '' }), fault: (t, a) => void faults.push(`${t} ${a}`), now: () => Date.now() };
}

test('layout: every VM, bridge and container placed by ELK, inner nodes inside their hypervisor, none overlapping; layer 3 between the subnets', async () => {
  const model = practica6();
  const layout = await layoutLab(model);
  assert.is(layout.nodes.length, model.vms.length + model.bridges.filter((b) => model.vms.find((v) => v.name === b.vm)!.kind === 'hypervisor').length + model.containers.length);
  const byId = new Map(layout.nodes.map((n) => [n.id, n]));
  for (const n of layout.nodes) {
    assert.ok(n.width > 0 && n.height > 0 && Number.isFinite(n.x) && Number.isFinite(n.y), n.id);
    if (n.parent) {
      const p = byId.get(n.parent)!;
      assert.ok(n.x >= p.x && n.y >= p.y && n.x + n.width <= p.x + p.width && n.y + n.height <= p.y + p.height, `${n.id} inside ${p.id}`);
    }
  }
  const leaves = layout.nodes.filter((n) => n.kind !== 'hypervisor');
  for (const [i, a] of leaves.entries()) for (const b of leaves.slice(i + 1)) {
    assert.ok(a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y, `${a.id} overlaps ${b.id}`);
  }
  const blocked = layout.edges.find((e) => e.id === 'link:swout1:vswout2')!;
  assert.equal(blocked.ends, [{ bridge: 'swout1', port: 'to-vswout2' }, { bridge: 'vswout2', port: 'to-swout1' }]);
  assert.is(blocked.target, 'swout1:vswout2');
  assert.is(layout.nodes.find((n) => n.name === 'vswout1')!.target, 'vswout1');
  // Layer 3: the subnets, each address holder with its addresses, the VIP on its subnet; a
  // balancer sits between the two subnets, so it is laid out between them.
  const l3 = new Map(layout.layer3.nodes.map((n) => [n.id, n]));
  assert.is(l3.get('host:bal1')!.label, 'bal1 172.16.1.250 · 10.0.0.250');
  assert.is(l3.get('vip:vrrpext')!.label, 'VIP 172.16.1.254');
  assert.ok(layout.layer3.edges.some((e) => e.from === 'subnet:external' && e.to === 'vip:vrrpext'));
  const y = (id: string) => l3.get(id)!.y;
  assert.ok(y('subnet:external') < y('host:bal1') && y('host:bal1') < y('subnet:internal') && y('subnet:internal') < y('host:serv1'));
});

test('monitor lines: bridge port states, links, addresses and haproxy verdicts', () => {
  assert.equal(parseBridgeMonitor('7: to-vswout2@if12: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 master swout1 state blocking priority 32 cost 100 '), { bridge: 'swout1', port: 'to-vswout2', state: 'blocking' });
  assert.equal(parseBridgeMonitor('Deleted 7: to-vswout2@if12: <BROADCAST,MULTICAST> mtu 1500 master swout1 state disabled priority 32 cost 100'), { bridge: 'swout1', port: 'to-vswout2', state: 'absent' });
  assert.is(parseBridgeMonitor('8: swout1: <BROADCAST> mtu 1500'), null);
  assert.equal(parseLinkMonitor('5: to-vswout1@if6: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master swout1 state UP'), { ifname: 'to-vswout1', up: true });
  assert.equal(parseLinkMonitor('4: vswout1: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue state DOWN'), { ifname: 'vswout1', up: false });
  assert.equal(parseAddressMonitor('2: eth0    inet 172.16.1.254/24 scope global secondary eth0'), { ifname: 'eth0', address: '172.16.1.254', present: true });
  assert.equal(parseAddressMonitor('Deleted 9: vrrp.12@eth0    inet 172.16.1.254/24 scope global vrrp.12'), { ifname: 'vrrp.12', address: '172.16.1.254', present: false });
  const log = [
    '[WARNING]  (130) : Server misServidores/serv3 is DOWN, reason: Layer4 timeout, check duration: 1001ms.',
    '[WARNING]  (130) : Server misServidores/serv1 is DOWN, reason: Layer4 timeout.',
    '[WARNING]  (130) : Server misServidores/serv1 is UP, reason: Layer4 check passed.',
    '[WARNING]  (211) : Server misServidores/serv2 is DOWN, reason: Layer4 timeout.',
  ].join('\n');
  assert.equal(parseHaproxyLog(log.split('\n')[0]), { pid: 130, backend: 'misServidores', server: 'serv3', up: false });
});

/** haproxy 2.6's answer to `show servers state` on its runtime socket: serv1 UP, serv2 DOWN (no listener), serv3 disabled. */
const serversState = readFileSync(join(root, 'tests/fixtures/haproxy-servers-state.txt'), 'utf8');

test("haproxy's runtime socket: show servers state as each server's verdict; no answer is null", () => {
  assert.equal([...parseServersState(serversState)!], [['misServidores/serv1', true], ['misServidores/serv2', false], ['misServidores/serv3', false]]);
  // On the twin of practica6, from bal2, serv3's Apache stopped: haproxy's checks took it DOWN.
  const twin = readFileSync(join(root, 'tests/fixtures/haproxy-servers-state-twin.txt'), 'utf8');
  assert.equal([...parseServersState(twin)!], [['misServidores/serv1', true], ['misServidores/serv2', true], ['misServidores/serv3', false]]);
  assert.is(parseServersState(''), null);
  assert.is(parseServersState('curl: (7) Failed to connect'), null);
});

test('server: the page carries a token; a fault without it, from another origin or to another Host is refused; bad input is a 400; nothing reaches the lab', async () => {
  const faults: string[] = [];
  const view = await startView(recordingDriver(faults), { pollMs: 60_000 });
  try {
    const { port, token } = view.server;
    const page = await call(port, 'GET', '/');
    assert.is(page.status, 200);
    assert.match(page.body, `<meta name="lab-token" content="${token}">`);
    assert.not.match(page.body, /https?:\/\/(?!www\.w3\.org)/, 'no asset from elsewhere');
    for (const asset of ['/assets/app.js', '/assets/app.css']) assert.is((await call(port, 'GET', asset)).status, 200, asset);
    const json = { 'Content-Type': 'application/json' };
    const body = JSON.stringify({ target: 'vswout1', action: 'down' });
    const refused = [
      await call(port, 'POST', '/api/fault', { headers: json, body }),
      await call(port, 'POST', '/api/fault', { headers: { ...json, 'X-Lab-Token': 'guess' }, body }),
      await call(port, 'POST', '/api/fault', { headers: { ...json, 'X-Lab-Token': token, Origin: 'http://evil.example' }, body }),
      await call(port, 'POST', '/api/fault', { headers: { ...json, 'X-Lab-Token': token, 'Sec-Fetch-Site': 'cross-site' }, body }),
      await call(port, 'POST', '/api/fault', { headers: { ...json, 'X-Lab-Token': token, Host: `rebound.example:${port}` }, body }),
    ];
    assert.equal(refused.map((r) => r.status), [403, 403, 403, 403, 403]);
    assert.match(refused[0].body, 'X-Lab-Token');
    assert.match(refused[2].body, 'cross-origin request from http://evil.example refused');
    const withToken = { ...json, 'X-Lab-Token': token };
    const bad = [
      await call(port, 'POST', '/api/fault', { headers: withToken, body: JSON.stringify({ target: 'nosuchnode', action: 'down' }) }),
      await call(port, 'POST', '/api/fault', { headers: withToken, body: JSON.stringify({ target: 'vswout1', action: 'explode' }) }),
      await call(port, 'POST', '/api/fault', { headers: withToken, body: JSON.stringify({ target: 'vswout1', action: 'unplug' }) }),
      await call(port, 'POST', '/api/fault', { headers: withToken, body: '{"target": ' }),
      await call(port, 'POST', '/api/fault', { headers: { 'X-Lab-Token': token, 'Content-Type': 'text/plain' }, body }),
      await call(port, 'POST', '/api/requests', { headers: withToken, body: '{"run": "yes"}' }),
    ];
    assert.equal(bad.map((r) => r.status), [400, 400, 400, 400, 415, 400]);
    assert.match(bad[0].body, 'unknown fault target \\"nosuchnode\\"; targets: swout1:vswout1');
    assert.match(bad[1].body, 'actions: down, up, unplug');
    assert.equal(faults, [], 'no refused or bad request reached the lab');
    const ok = await call(port, 'POST', '/api/fault', { headers: { ...withToken, Origin: `http://127.0.0.1:${port}` }, body });
    assert.is(ok.status, 200, ok.body);
    assert.equal(faults, ['vswout1 down']);
    const timeline = JSON.parse((await call(port, 'GET', '/api/timeline')).body);
    assert.equal(timeline.events.map((e: { kind: string; key: string; value: string }) => `${e.kind} ${e.key} ${e.value}`), ['fault vswout1 down']);
    assert.ok(timeline.events[0].t > 0);
  } finally {
    await view.stop();
  }
});

test('the Vagrant target: no notifications, so observe polls over ssh at a lower rate, each change an event; haproxy from its socket; requests streamed over ssh', async () => {
  const commands: string[] = [];
  let reads = 0;
  const socketRead = `echo "show servers state" | curl -s -m 2 --unix-socket /run/haproxy.sock telnet://haproxy`;
  const runner = (argv: string[]): ExecResult => {
    if (argv[1] === 'ssh-config') return { status: 0, stdout: 'Host swout1\n', stderr: '' };
    const [vm, command] = argv.slice(-2);
    commands.push(`${vm}: ${command}`);
    if (vm === 'swout1' && command.includes('/brif/')) {
      reads++;
      // Blocking at first, then forwarding (as after a link failure).
      return { status: 0, stdout: `/sys/class/net/swout1/brif/to-vswout2/state ${reads === 1 ? 4 : 3}\n`, stderr: '' };
    }
    if (vm === 'vm1' && command.includes('lxc exec bal1 ') && command.includes('show servers state')) return { status: 0, stdout: serversState, stderr: '' };
    return { status: 0, stdout: '', stderr: '' };
  };
  const streams: Array<{ argv: string[]; cwd: string; onLine: (line: string) => void; stopped: boolean }> = [];
  const streamer = (argv: string[], cwd: string, onLine: (line: string) => void) => {
    const s = { argv, cwd, onLine, stopped: false };
    streams.push(s);
    return { stop: () => void (s.stopped = true) };
  };
  const live = new LiveLab(vagrantDriver(practica6(), '/lab', runner, streamer), { pollMs: 30 });
  try {
    assert.is(live.initial.stp['swout1/to-vswout2'], 'blocking');
    // haproxy's own verdicts, from bal1's runtime socket; bal2's answers nothing: unknown.
    assert.equal([1, 2, 3].map((i) => live.initial.server[`bal1/misServidores/serv${i}`]), [true, false, false]);
    assert.is(live.initial.server['bal2/misServidores/serv1'], null);
    const until = Date.now() + 3000;
    while (!live.events.some((e) => e.kind === 'stp') && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    // The request stream: a bounded probe loop on each user, over the same ssh.
    live.startRequests({ intervalMs: 100, maxRequests: 50 });
    assert.equal(streams.map((s) => s.argv[s.argv.length - 2]), ['usuario', 'usuario2']);
    for (const s of streams) {
      assert.is(s.cwd, '/lab');
      assert.equal(s.argv.slice(0, 2), ['ssh', '-F']);
      assert.match(s.argv[s.argv.length - 1], /^sudo sh -c 'i=0\nwhile \[ \$i -lt 50 \]; do\n/);
      assert.match(s.argv[s.argv.length - 1], `curl -sf -m 0.5 http://172.16.1.254:8000/`);
      assert.match(s.argv[s.argv.length - 1], 'sleep 0.1');
    }
    streams[0].onLine('1700000000000 ok server=serv1 balancer=bal1 ');
    streams[1].onLine('1700000000050 fail');
    live.stopRequests();
    assert.equal(streams.map((s) => s.stopped), [true, true]);
  } finally {
    live.stop();
  }
  const stp = live.events.find((e) => e.kind === 'stp')!;
  assert.equal([stp.key, stp.value], ['swout1/to-vswout2', 'forwarding']);
  assert.equal(live.events.filter((e) => e.kind === 'request').map((e) => [e.t, e.text]), [[1700000000000, 'usuario: bal1 → serv1'], [1700000000050, 'usuario2: failed']]);
  const q = `'\\''`;
  for (const expected of [
    "swout1: sudo sh -c 'for f in /sys/class/net/*/brif/*/state; do [ -e \"$f\" ] && echo \"$f $(cat \"$f\")\"; done; true'",
    `vm1: sudo sh -c 'echo vswout1 $(cat /sys/class/net/vswout1/bridge/root_id 2>/dev/null)'`,
    "usuario: sudo sh -c 'ip -o link show'",
    `vm1: sudo sh -c 'lxc exec bal1 -- sh -c ${q}ip -4 -o addr show${q}'`,
    `vm2: sudo sh -c 'lxc exec serv3 -- sh -c ${q}for s in apache2; do pidof $s >/dev/null && echo $s; done; true${q}'`,
    `vm1: sudo sh -c 'lxc exec bal1 -- sh -c ${q}${socketRead}${q}'`,
  ]) assert.ok(commands.includes(expected), `expected: ${expected}\nran:\n${[...new Set(commands)].join('\n')}`);
});

test("the twin's notifications become timestamped events: a port state, the VIP's holders (split brain too), a restarted haproxy's servers", () => {
  let emit: (e: TargetEvent) => void = () => undefined;
  let stopped = false;
  const exec = (node: string, command: string): ExecResult => {
    if (node === 'bal1' && command.startsWith('ip -4 -o addr')) return { status: 0, stdout: '2: eth0    inet 172.16.1.250/24 scope global eth0\n2: eth0    inet 172.16.1.254/24 scope global secondary eth0\n', stderr: '' };
    if (node === 'bal1' && command === 'echo "show servers state" | curl -s -m 2 --unix-socket /run/haproxy.sock telnet://haproxy') return { status: 0, stdout: serversState, stderr: '' };
    return { status: 0, stdout: '', stderr: '' };
  };
  const driver: Driver = {
    name: 'twin', model: practica6(), exec, fault: () => undefined, now: () => 1000,
    watch: (e) => ((emit = e), { stop: () => void (stopped = true) }),
  };
  const live = new LiveLab(driver);
  assert.equal(live.initial.vip, { vrrpext: ['bal1'] });
  // haproxy's verdicts from its socket; bal2's haproxy does not answer: unknown.
  assert.is(live.initial.server['bal1/misServidores/serv3'], false);
  assert.is(live.initial.server['bal1/misServidores/serv1'], true);
  assert.is(live.initial.server['bal2/misServidores/serv1'], null);
  emit({ kind: 'stp-port', t: 5, vm: 'swout1', bridge: 'swout1', port: 'to-vswout2', state: 'blocking' });
  emit({ kind: 'stp-port', t: 6, vm: 'swout1', bridge: 'swout1', port: 'to-vswout2', state: 'blocking' });
  emit({ kind: 'address', t: 7, node: 'bal2', ifname: 'eth0', address: '172.16.1.254', present: true });
  emit({ kind: 'address', t: 8, node: 'bal1', ifname: 'eth0', address: '172.16.1.254', present: false });
  emit({ kind: 'link', t: 9, node: 'vm1', ifname: 'vswout1', up: false });
  emit({ kind: 'link', t: 9, node: 'vm1', ifname: 'veth-not-in-the-model', up: false });
  emit({ kind: 'daemon', t: 10, container: 'bal1', service: 'haproxy', running: true });
  live.stop();
  assert.ok(stopped);
  // A repeated state is no event; an interface the model does not name is not shown.
  assert.equal(live.events.map((e) => [e.t, e.kind, e.key, e.value]), [
    [5, 'stp', 'swout1/to-vswout2', 'blocking'],
    [7, 'vip', 'vrrpext', ['bal1', 'bal2']],
    [8, 'vip', 'vrrpext', ['bal2']],
    [9, 'link', 'vm1/vswout1', false],
    [10, 'daemon', 'bal1:haproxy', true],
    [10, 'server', 'bal1/misServidores/serv2', true],
    [10, 'server', 'bal1/misServidores/serv3', true],
  ]);
  assert.equal(live.events.map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(live.snapshot().vip, { vrrpext: ['bal2'] });
});

test.run();
