// The provisioning layer that the twin does not run (LXD, Alpine, OpenRC, apt): each fault a
// review of Vagrant's, LXD's and busybox's sources found, checked where it can run here (the
// DHCP lease on a hot-plugged NIC, with the real busybox udhcpc and dnsmasq) and read from the
// rendered scripts where it cannot (LXD and Alpine need the Internet).
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderLab } from '../libs/render';
import { modelOf, practica6, practica6Spec } from './helpers';

const model = practica6();
const files = renderLab(model);
const hypervisors = model.vms.filter((v) => v.containers.length);

function sh(command: string, timeoutMs = 60_000) {
  const r = spawnSync('sh', ['-c', command], { encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** The lines of a container's own section in containers.sh (from its comment to the next blank line). */
function sectionOf(script: string, container: string): string[] {
  const lines = script.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`# ${container}: `));
  const end = lines.indexOf('', start);
  return lines.slice(start, end === -1 ? undefined : end);
}

test('a hot-plugged NIC arrives down: the lease command raises it and gets a lease; without that it never does', () => {
  const lease = /^lease='(.*)'$/m.exec(files['hosts/vm1/containers.sh'])?.[1];
  assert.ok(lease, 'containers.sh names its lease command');
  // busybox udhcpc runs its script at "deconfig" and "bound"; Alpine's brings the link up only at
  // "bound". This one does the same, bind-mounted over Debian's default script in a private mount
  // namespace (Debian's would raise the link itself and hide the fault).
  const dir = mkdtempSync(join(tmpdir(), 'lab-dhcp-'));
  const script = join(dir, 'default.script');
  writeFileSync(script, [
    '#!/bin/sh',
    'case "$1" in',
    '  deconfig) ip -4 addr flush dev "$interface" ;;',
    '  bound) ip -4 addr add "$ip/$mask" dev "$interface" && ip -4 link set dev "$interface" up ;;',
    'esac',
    '',
  ].join('\n'), { mode: 0o755 });
  const server = 'labtest_dhcp_server';
  const client = 'labtest_dhcp_client';
  const cleanup = () => sh(`ip netns del ${server} 2>/dev/null; ip netns del ${client} 2>/dev/null; true`);
  cleanup();
  try {
    const setup = sh([
      `ip netns add ${server}`, `ip netns add ${client}`,
      // A veth end moved into a namespace arrives down, as LXD's hot-plugged NIC does.
      `ip link add labtdhcp0 type veth peer name inet`,
      `ip link set inet netns ${client}`, `ip link set labtdhcp0 netns ${server}`,
      `ip -n ${server} addr add 10.213.0.1/24 dev labtdhcp0`, `ip -n ${server} link set labtdhcp0 up`,
      `ip -n ${client} link show inet | grep -q 'state DOWN'`,
    ].join(' && '));
    assert.is(setup.status, 0, setup.output);
    const inClient = (command: string, seconds: number) =>
      sh(`ip netns exec ${client} unshare -m sh -c 'mount --bind ${script} /etc/udhcpc/default.script && timeout ${seconds} sh -c "$0"' ${JSON.stringify(command)}`, (seconds + 10) * 1000);
    const dnsmasq = `ip netns exec ${server} timeout 60 dnsmasq --no-daemon --port=0 --bind-interfaces --interface=labtdhcp0 --dhcp-range=10.213.0.10,10.213.0.20,1h --dhcp-leasefile=${dir}/leases`;
    const started = Date.now();
    const both = sh(`(${dnsmasq} >${dir}/dnsmasq.log 2>&1 &) ; sleep 1; ` +
      `ip netns exec ${client} unshare -m sh -c 'mount --bind ${script} /etc/udhcpc/default.script && timeout 12 udhcpc -i inet -q -n -t 10'; echo "old=$?"`, 30_000);
    // The old command: "Network is down" over and over until the bound stops it.
    assert.match(both.output, 'Network is down');
    assert.match(both.output, 'old=124');
    assert.ok(Date.now() - started >= 12_000);
    const fixed = inClient(lease, 70);
    assert.is(fixed.status, 0, fixed.output);
    assert.match(fixed.output, /lease of 10\.213\.0\.\d+ obtained/);
    assert.match(sh(`ip -n ${client} -4 addr show dev inet`).output, /inet 10\.213\.0\.\d+\/24/);
  } finally {
    sh(`pkill -f 'dnsmasq.*labtdhcp0'; true`);
    cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('containers.sh: each container is created stopped, gets its interfaces file, and only then starts', () => {
  for (const vm of hypervisors) {
    const script = files[`hosts/${vm.name}/containers.sh`];
    // `lxc launch` would boot Alpine's own interfaces file: a DHCP client on a lab LAN.
    assert.not.match(script, /lxc launch/);
    for (const c of model.containers.filter((x) => x.host === vm.name)) {
      const lines = sectionOf(script, c.name);
      const at = (prefix: string) => lines.findIndex((l) => l.startsWith(prefix));
      assert.ok(at(`create ${c.name} `) >= 0, c.name);
      assert.ok(at(`create ${c.name} `) < at(`push ${c.name} interfaces /etc/network/interfaces`), c.name);
      assert.ok(at(`push ${c.name} interfaces `) < at(`start ${c.name}`), c.name);
      // A container that already exists (a run cut short) still gets its packages checked.
      assert.ok(at(`add_packages ${c.name} `) > at(`start ${c.name}`), c.name);
      for (const s of c.services) assert.ok(at(`enable_service ${c.name} ${s}`) > at(`add_packages ${c.name} `), `${c.name} ${s}`);
    }
  }
});

test('containers.sh: a second run restarts only what changed, and reuses the snapshot', () => {
  const script = files['hosts/vm1/containers.sh'];
  // networking restart flushes every address (and the VIP): only inside start(), for a new file.
  const restarts = script.split('\n').filter((l) => l.includes('rc-service networking restart'));
  assert.is(restarts.length, 1);
  assert.match(script, /elif pushed \/etc\/network\/interfaces; then\n\s+lxc exec "\$1" -- rc-service networking restart/);
  assert.match(script, /lxc snapshot \S+ conApache --reuse/);
  assert.match(script, /apk add --no-network/);
  assert.match(script, /lxc exec "\$name" -- sh -c "\$lease"/);
});

test('lxd.sh asks snap, not `command -v lxc` (Ubuntu 24.04 ships a shim at /usr/sbin/lxc)', () => {
  for (const vm of hypervisors) {
    const script = files[`hosts/${vm.name}/lxd.sh`];
    assert.not.match(script, /^[^#]*command -v lxc/m);
    assert.match(script, /if ! snap list lxd >\/dev\/null 2>&1; then\n\s+snap install lxd --channel=5\.21\/stable/);
  }
});

test('after a reboot the lab bridges come before LXD starts its containers', () => {
  for (const vm of model.vms) {
    const unit = files[`hosts/${vm.name}/lab-network.service`];
    assert.is(/^Before=snap\.lxd\.daemon\.service snap\.lxd\.activate\.service$/m.test(unit), vm.containers.length > 0, vm.name);
  }
});

test('a hypervisor without containers does not install LXD', () => {
  const spec = practica6Spec();
  for (const key of ['containers', 'vrrp', 'haproxy', 'vxlan'] as const) delete spec[key];
  const rendered = renderLab(modelOf(spec));
  assert.not.ok(Object.keys(rendered).some((p) => /lxd|containers\.sh/.test(p)));
  assert.not.match(rendered['hosts/vm1/bootstrap.sh'], /lxd/);
});

test("every command the lab guide shows on a VM is installed there by bootstrap.sh", () => {
  const guide = files['README.md'];
  const packageOf: Record<string, string> = { brctl: 'bridge-utils', ifconfig: 'net-tools', tcpdump: 'tcpdump', curl: 'curl', lynx: 'lynx' };
  const kinds = { switch: 'swout1', hypervisor: 'vm1', user: 'usuario' };
  for (const [command, pkg] of Object.entries(packageOf)) {
    if (!new RegExp(`\\b${command}\\b`).test(guide)) continue;
    const needs = command === 'curl' || command === 'lynx' ? ['user'] : command === 'ifconfig' || command === 'tcpdump' ? ['switch', 'hypervisor', 'user'] : ['switch', 'hypervisor'];
    for (const kind of needs) {
      const bootstrap = files[`hosts/${kinds[kind as keyof typeof kinds]}/bootstrap.sh`];
      assert.match(bootstrap, new RegExp(`for package in [^\\n]*\\b${pkg}\\b`), `${command} on ${kind}`);
    }
  }
});

test.run();
