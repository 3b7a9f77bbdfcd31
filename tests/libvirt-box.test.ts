// A real `vagrant up --provider libvirt` on this machine, on qemu's emulated CPU (no KVM here):
// the lab/debian-12 box (vagrant/libvirt/build-box.sh, cached between runs), two VMs joined by
// one vagrant-libvirt UDP tunnel, a file and a shell provisioner, a reload and a destroy, all in a
// private libvirt inside a network namespace of this test (vagrant/libvirt/libvirt-ns.sh) that is
// gone afterwards. Needs root and the Debian packages checkLibvirtHost names.
import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  checkLibvirtHost, domains, ensureBox, inNs, inNsSync, libvirtLeftovers, nsName, sshConfig, sshRun,
  startLibvirt, stopLibvirt, withLibvirt, type RunResult,
} from './libvirt';

const name = 'boxtest';
const ns = nsName(name);
const prefix = 'labboxtest-';
const dir = mkdtempSync(join(tmpdir(), 'lab-libvirt-'));
const payload = `uploaded by the file provisioner ${Date.now()}\n`;
const macs = { vm1: '52:54:00:99:00:01', vm2: '52:54:00:99:00:02' };

// vm1 is 127.1.0.1:10001 and 10.99.0.1 on the tunnel, vm2 127.1.0.2:10001 and 10.99.0.2. The shell
// provisioner addresses the tunnel NIC through netplan (networkd renderer), so the address comes
// back by itself after a reboot, like the lab's hypervisors.
const vagrantfile = `# Written by tests/libvirt-box.test.ts: two VMs over one UDP tunnel, emulated CPU.
Vagrant.configure("2") do |config|
  config.vm.box = "lab/debian-12"
  config.vm.box_check_update = false
  config.vm.synced_folder ".", "/vagrant", disabled: true
  config.vm.provider "libvirt" do |lv|
    lv.default_prefix = "${prefix}"
    lv.driver = "qemu"
    lv.cpu_mode = "custom"
    lv.cpu_model = "qemu64"
    lv.memory = 256
    lv.cpus = 1
    # qemu keeps a 1 GiB translation cache per emulated VM unless told otherwise.
    lv.features = ["acpi", "apic", "tcg><tb-cache unit='MiB'>256</tb-cache></tcg><pae"]
  end
  { "vm1" => [1, 2, "${macs.vm1}"], "vm2" => [2, 1, "${macs.vm2}"] }.each do |name, (me, peer, mac)|
    config.vm.define name do |node|
      node.vm.network "private_network", auto_config: false, mac: mac,
        libvirt__tunnel_type: "udp", libvirt__tunnel_local_ip: "127.1.0.#{me}", libvirt__tunnel_local_port: 10001,
        libvirt__tunnel_ip: "127.1.0.#{peer}", libvirt__tunnel_port: 10001
      node.vm.provision "file", source: "payload.txt", destination: "/home/vagrant/payload.txt"
      node.vm.provision "shell", inline: <<-SHELL
        set -e
        cat > /etc/netplan/60-tunnel.yaml <<EOF
network:
  version: 2
  renderer: networkd
  ethernets:
    tunnel:
      match: {macaddress: "#{mac}"}
      set-name: eth1
      addresses: [10.99.0.#{me}/24]
EOF
        chmod 600 /etc/netplan/60-tunnel.yaml
        netplan apply 2>/dev/null
        id -un > /root/provisioned-by
      SHELL
    end
  end
end
`;
writeFileSync(join(dir, 'Vagrantfile'), vagrantfile);
writeFileSync(join(dir, 'payload.txt'), payload);

const seconds: Record<string, number> = {};
const started = Date.now();
let ssh = '';

/** Fails with the end of a command's output, to tell why without a rerun. */
function ok(run: RunResult, what: string): RunResult {
  const tail = (run.stdout + run.stderr).trimEnd().split('\n').slice(-25).join('\n');
  assert.ok(run.status === 0 && !run.timedOut, `${what}: status ${run.status}${run.timedOut ? ' (timed out)' : ''}\n${tail}`);
  return run;
}

const vagrant = (args: string[], timeoutMs: number) => inNs(ns, ['vagrant', ...args], { cwd: dir, timeoutMs });
const on = async (vm: string, command: string) => ok(await sshRun(ns, ssh, vm, command), `${vm}: ${command}`).stdout;

/** Resident memory of the namespace's qemu processes, in MiB. */
function qemuMiB(): number {
  const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  let kib = 0;
  for (const pid of pids) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      if (/^Name:\s+qemu-system/m.test(status)) kib += Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    } catch {
      // gone meanwhile
    }
  }
  return Math.round(kib / 1024);
}

const timed = async <T>(phase: string, work: () => T | Promise<T>): Promise<T> => {
  const t0 = Date.now();
  try {
    return await work();
  } finally {
    seconds[phase] = (Date.now() - t0) / 1000;
  }
};

const t = suite('vagrant-libvirt: two lab/debian-12 VMs over a UDP tunnel, in a private libvirt');

t.before(async () => {
  try {
    checkLibvirtHost();
    await timed('box (build-box.sh)', () => ensureBox());
    await timed('libvirtd start', () => startLibvirt(name));
    const up = await timed('vagrant up (2 VMs)', () => vagrant(['up', '--provider', 'libvirt'], 15 * 60_000));
    console.log(`\n  vagrant up of 2 VMs: ${up.seconds.toFixed(0)} s; qemu resident memory ${qemuMiB()} MiB`);
    ok(up, 'vagrant up');
    ssh = await sshConfig(ns, dir);
  } catch (error) {
    // uvu counts the suite's tests as failed but does not print a hook's error.
    console.error(`\n  setup failed: ${(error as Error).message}`);
    throw error;
  }
});

t.after(() => {
  stopLibvirt(ns);
  rmSync(dir, { recursive: true, force: true });
  seconds.total = (Date.now() - started) / 1000;
  console.log(`  ${Object.entries(seconds).map(([phase, s]) => `${phase} ${s.toFixed(1)} s`).join(', ')}`);
});

t('the VMs ping each other across the UDP tunnel', async () => {
  assert.match(await on('vm1', 'ping -c 3 -W 2 10.99.0.2'), '3 received');
  assert.match(await on('vm2', 'ping -c 3 -W 2 10.99.0.1'), '3 received');
  assert.match(await on('vm1', 'cat /sys/class/net/eth1/address'), macs.vm1);
});

t('the file provisioner uploaded as vagrant, the shell provisioner ran as root', async () => {
  for (const vm of ['vm1', 'vm2']) {
    assert.is(await on(vm, 'stat -c "%U:%G %a" /home/vagrant/payload.txt'), 'vagrant:vagrant 644\n');
    assert.is(await on(vm, 'cat /home/vagrant/payload.txt'), payload);
    assert.is(await on(vm, 'sudo cat /root/provisioned-by'), 'root\n');
  }
});

t('the box has what the lab\'s VMs use, and each VM its own identity', async () => {
  // The lab's bootstrap.sh installs these only when dpkg lacks them; guests have no route out.
  await on('vm1', 'dpkg -s bridge-utils net-tools tcpdump curl lynx iputils-ping netplan.io procps ca-certificates >/dev/null');
  await on('vm1', 'command -v brctl ifconfig tcpdump curl lynx ping netplan ip bridge sudo');
  assert.is(await on('vm1', 'systemctl is-active systemd-networkd'), 'active\n');
  assert.match(await on('vm1', 'cat /proc/cmdline'), 'net.ifnames=0');
  const ids = await Promise.all(['vm1', 'vm2'].map((vm) => on(vm, 'cat /etc/machine-id /etc/ssh/ssh_host_ed25519_key.pub')));
  assert.is.not(ids[0], ids[1]);
});

t('after vagrant reload (both VMs at once) netplan brings the tunnel address back', async () => {
  const runs = await timed('vagrant reload (2 VMs)', () => Promise.all(['vm1', 'vm2'].map((vm) => vagrant(['reload', vm], 10 * 60_000))));
  runs.forEach((run, i) => ok(run, `vagrant reload vm${i + 1}`));
  // Reloaded VMs may get other management addresses.
  ssh = await sshConfig(ns, dir);
  for (const vm of ['vm1', 'vm2']) assert.ok(Number((await on(vm, 'cut -d. -f1 /proc/uptime')).trim()) < 300, `${vm} did not reboot`);
  assert.match(await on('vm1', 'ping -c 3 -W 2 10.99.0.2'), '3 received');
  assert.is(await on('vm2', 'cat /home/vagrant/payload.txt'), payload);
});

t('vagrant destroy -f removes both domains', async () => {
  ok(await timed('vagrant destroy', () => vagrant(['destroy', '-f'], 5 * 60_000)), 'vagrant destroy');
  assert.equal(domains(ns), []);
});

t('stop leaves no namespace, process, mount, state folder or cgroup behind', async () => {
  await timed('libvirtd stop', () => stopLibvirt(ns));
  assert.equal(libvirtLeftovers(ns), []);
  const qemus = spawnSync('pgrep', ['-f', `guest=${prefix}`], { encoding: 'utf8' }).stdout.trim();
  assert.is(qemus, '', 'qemu processes of the test survived');
  const groups = (parent: string): string[] => {
    try {
      return readdirSync(parent).filter((f) => f.includes(prefix.replace(/[^A-Za-z0-9.-]/g, '')));
    } catch {
      return [];
    }
  };
  for (const hierarchy of readdirSync('/sys/fs/cgroup')) assert.equal(groups(join('/sys/fs/cgroup', hierarchy, 'machine')), []);
});

t('withLibvirt stops and cleans up also when its body throws', async () => {
  let inside = '';
  try {
    await withLibvirt(`${name}-throw`, async (n) => {
      inside = inNsSync(n, ['virsh', '-q', '-c', 'qemu:///system', 'version']).stdout;
      throw new Error('body failed');
    }, { box: false });
    assert.unreachable('the error got lost');
  } catch (error) {
    assert.is((error as Error).message, 'body failed');
  }
  assert.match(inside, 'QEMU');
  assert.equal(libvirtLeftovers(nsName(`${name}-throw`)), []);
});

t.run();
