// Pieces of the check suite that need no running lab: outage arithmetic, the Vagrant driver's
// command lines, the bench's targets and report.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { benchMarkdown, targetOf } from '../libs/checks/bench';
import type { ExecResult } from '../libs/targets/driver';
import { vagrantDriver } from '../libs/targets/vagrant-driver';
import { outageOf, parseProbeLog } from '../libs/observe/probe';
import { checks, labRolesOf, rolesOf } from '../libs/checks/suite';
import { fixtureModel, practica6 } from './helpers';

test('outage: from the first failure to the first success after the last failure', () => {
  const samples = parseProbeLog(['1000 ok', '1050 ok', '1100 fail', '1150 fail', '1200 ok', '1250 fail', '1300 ok', 'garbage', '1350 ok'].join('\n'));
  assert.is(samples.length, 8);
  assert.equal(outageOf(samples), { outageMs: 200, failed: 3, requests: 8 });
  assert.equal(outageOf(parseProbeLog('1 ok\n2 ok\n')), { outageMs: 0, failed: 0, requests: 2 });
  // Never back within the probe: counted up to the last failure.
  assert.equal(outageOf(parseProbeLog('100 ok\n150 fail\n900 fail\n')), { outageMs: 750, failed: 2, requests: 3 });
});

test('roles: practica6 master, backup, the master bridge and each side of the VXLAN', () => {
  const r = rolesOf(practica6());
  assert.equal([r.master.container, r.backup.container, r.masterBridge, r.url], ['bal1', 'bal2', 'vswout1', 'http://172.16.1.254:8000/']);
  assert.equal(r.sameSide(r.masterC), ['serv1', 'serv2']);
  assert.equal(r.sameSide(r.backupC), ['serv3']);
});

test('the Vagrant driver: ssh through one vagrant ssh-config for VMs, lxc exec inside the hypervisor for containers, guide commands for faults', () => {
  const calls: string[][] = [];
  const runner = (argv: string[]): ExecResult => {
    calls.push(argv);
    return { status: 0, stdout: argv[1] === 'ssh-config' ? 'Host usuario\n  HostName 192.168.121.5\n' : '', stderr: '' };
  };
  const d = vagrantDriver(practica6(), '/lab', runner);
  d.exec('usuario', "curl -s 'http://172.16.1.254:8000/'");
  d.exec('bal1', 'ip -4 -o addr show dev eth0');
  d.fault('vswout1', 'down');
  d.fault('swout1:vswout1', 'up');
  d.fault('bal1:haproxy', 'down');
  d.fault('vxin', 'down');
  d.fault('serv3', 'down');
  // Vagrant runs once, for the ssh configuration; every command then goes through ssh.
  assert.equal(calls[0], ['vagrant', 'ssh-config']);
  const config = calls[1][2];
  assert.match(config, /lab-ssh-[0-9a-f]{12}\/config$/);
  for (const argv of calls.slice(1)) {
    assert.equal(argv.slice(0, 3), ['ssh', '-F', config]);
    assert.ok(argv.includes('ControlMaster=auto') && argv.includes('ControlPersist=60'));
  }
  const q = `'\\''`;
  assert.equal(calls.slice(1).map((argv) => argv.slice(-2)), [
    ['usuario', `sudo sh -c 'curl -s ${q}http://172.16.1.254:8000/${q}'`],
    ['vm1', `sudo sh -c 'lxc exec bal1 -- sh -c ${q}ip -4 -o addr show dev eth0${q}'`],
    ['vm1', "sudo sh -c 'ip link set dev vswout1 down'"],
    ['swout1', "sudo sh -c 'ip link set dev to-vswout1 up'"],
    ['vm1', `sudo sh -c 'lxc exec bal1 -- sh -c ${q}rc-service haproxy stop${q}'`],
    ['vm1', "sudo sh -c 'ip link set dev vxin down'"],
    ['vm2', "sudo sh -c 'ip link set dev vxin down'"],
    ['vm2', "sudo sh -c 'lxc stop --force serv3'"],
  ]);
  assert.throws(() => d.exec('nobody', 'true'), /unknown node nobody/);
});

test('the Vagrant driver cannot pull a cable yet, and says so', () => {
  const d = vagrantDriver(practica6(), '/lab', () => ({ status: 0, stdout: '', stderr: '' }));
  assert.throws(() => d.fault('swout1:vswout1', 'unplug'), /unplug \(pulling the cable of swout1:vswout1\) is not supported on vagrant/);
});

test('a lab of switches and users only: the STP checks apply, the service checks say why they do not', () => {
  const lab = labRolesOf(fixtureModel('external-only'));
  assert.is(lab.service, null);
  assert.equal(lab.users, ['usuario', 'usuario2']);
  const reasons = Object.fromEntries(checks.map((c) => [c.id, c.notApplicable(lab)]));
  for (const id of ['cp1.stp-on', 'cp1.root', 'cp1.ports', 'cp1.link-failures']) assert.is(reasons[id], null, id);
  for (const id of ['cp2.roles', 'cp3.vxlan-cut', 'cp4.rotation', 'sec.no-forwarding', 'drill.switch-down']) assert.match(String(reasons[id]), 'no balanced service', id);
  assert.throws(() => rolesOf(fixtureModel('external-only')), /extonly: the lab has no balanced service/);
  // practica6 has it all: every check applies.
  assert.equal(checks.filter((c) => c.notApplicable(labRolesOf(practica6())) !== null).map((c) => c.id), []);
});

test('bench targets: absolute for fast, within 20% of theory for seed; the report puts profiles side by side', () => {
  const fast = practica6('fast');
  assert.equal(targetOf('fast', 'balancer-loss', fast), { outage_ms: 500 });
  assert.equal(targetOf('fast', 'balancer-loss', fast, 10), { outage_ms: 150 });
  assert.equal(targetOf('fast', 'active-link-loss', fast), { outage_ms: 5000 });
  assert.equal(targetOf('seed', 'vxlan-cut', practica6()), { within_percent: 20 });
  const report = benchMarkdown([
    { profile: 'seed', lab: 'x', probe_ms: 50, drills: [{ id: 'server-loss', title: '', runs: 2, outage_ms: { min: 0, median: 0, max: 0 }, failed_requests: { max: 0 }, predicted_ms: 0, theory: '', target: { within_percent: 20 }, met: true, samples: [] }] },
    { profile: 'fast', lab: 'y', probe_ms: 10, drills: [{ id: 'server-loss', title: '', runs: 2, outage_ms: { min: 0, median: 0, max: 120 }, failed_requests: { max: 1 }, predicted_ms: 0, theory: '', target: { failed_requests: 0 }, met: false, samples: [] }] },
  ]);
  assert.match(report, '| server-loss | 0 ms | 0 ms / 0 ms / 0 ms | 0 | ±20% of theory ✔ | 0 ms | 0 ms / 0 ms / 120 ms | 1 | 0 failed ✘ |');
  assert.match(report, '(a GET every 50 or 10 ms, overlapping)');
});

test.run();
