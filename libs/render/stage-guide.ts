// The guide of a lab built up to a stage (out/<name>/README.md below cp4): what is built, and the
// handout's next steps written for this lab's names, interfaces and addresses, each with its
// solution in a collapsed <details> section (left out with solutions: false). The solutions are
// the commands and files of the next stage, so they are what `--stage <next>` would render.
import { builtBy, checkpoints, nextStage, stageModel, type Stage } from '../model/stage';
import type { BridgeModel, ContainerModel, LabModel } from '../model/types';
import type { FileMap } from './index';
import { whyBlocked } from './guide';
import { render } from './template';

export interface Step {
  title: string;
  /** What to do, in Markdown. */
  task: string;
  /** The solution: where it runs and what to type or write. */
  solution: Array<{ where: string; code: string; lang?: string }>;
}

const cs = (seconds: number) => Math.round(seconds * 100);

/** Commands (as root) that build a bridge as network.sh does, with the handout's brctl words. */
function bridgeCommands(model: LabModel, b: BridgeModel): string {
  const lines = [`ip link add name ${b.name} address ${b.mac} type bridge   # handout: brctl addbr ${b.name}; ifconfig ${b.name} hw ether ${b.mac}`];
  if (b.stp) {
    lines.push(`ip link set dev ${b.name} type bridge stp_state 1 priority ${b.priority} hello_time ${cs(model.stp.helloTime)} forward_delay ${cs(model.stp.forwardDelay)} max_age ${cs(model.stp.maxAge)}   # handout: brctl stp ${b.name} on (timers in centiseconds)`);
  } else {
    lines.push(`ip link set dev ${b.name} type bridge stp_state 0`);
  }
  if (!b.multicastSnooping) lines.push(`ip link set dev ${b.name} type bridge mcast_snooping 0   # or: echo 0 > /sys/devices/virtual/net/${b.name}/bridge/multicast_snooping`);
  if (b.mtu !== 1500) lines.push(`ip link set dev ${b.name} mtu ${b.mtu}`);
  for (const p of b.ports.filter((x) => x.kind === 'link')) {
    lines.push(`ip link set dev ${p.ifname} master ${b.name}   # handout: brctl addif ${b.name} ${p.ifname}`);
    lines.push(`bridge link set dev ${p.ifname} cost ${p.cost} priority ${p.priority}`);
    lines.push(`ip link set dev ${p.ifname} up`);
  }
  if (b.address) lines.push(`ip addr add ${b.address}/${b.prefix} dev ${b.name}   # handout: ifconfig ${b.name} ${b.address}/${b.prefix}`);
  lines.push(`ip link set dev ${b.name} up`);
  return lines.join('\n');
}

const lxcIn = (c: ContainerModel, command: string) => `lxc exec ${c.name} -- ${command}`;

/** The handout's way to install packages in a container: a temporary NIC on LXD's NAT bridge. */
function installCommands(c: ContainerModel, packages: string[]): string[] {
  return [
    `lxc config device add ${c.name} inet nic network=lxdbr0 name=inet   # a temporary way to the Internet`,
    lxcIn(c, `sh -c 'ip link set dev inet up && udhcpc -i inet -q -n'`),
    lxcIn(c, `apk add ${packages.join(' ')}`),
    `lxc config device remove ${c.name} inet`,
  ];
}

function nicCommands(c: ContainerModel, nics: ContainerModel['nics']): string[] {
  return nics.map((n) => `lxc config device add ${c.name} ${n.ifname} nic nictype=bridged parent=${n.bridge} name=${n.ifname} host_name=${n.hostIfname} hwaddr=${n.mac} mtu=${n.mtu}`);
}

const file = (files: FileMap, path: string) => files[path].trimEnd();

function stepsToCp1(next: LabModel): Step[] {
  const steps: Step[] = [];
  const tree = next.spanningTree;
  for (const b of next.bridges) {
    const ports = b.ports.filter((p) => p.kind === 'link').map((p) => `\`${p.ifname}\` (link ${p.segment}, cost ${p.cost})`);
    steps.push({
      title: `Bridge ${b.name} on ${b.vm}`,
      task: `On ${b.vm}, create bridge \`${b.name}\` with MAC \`${b.mac}\` (half of its bridge id), turn STP on before any port is up (there are loops), and add ${ports.join(', ')}.${b.address ? ` Give the bridge ${b.address}/${b.prefix}.` : ''}`,
      solution: [{ where: b.vm, code: bridgeCommands(next, b) }],
    });
  }
  for (const vm of next.vms.filter((v) => v.kind === 'user')) {
    const nics = vm.nics.filter((n) => n.address);
    steps.push({
      title: `Address of ${vm.name}`,
      task: `Give ${vm.name} ${nics.map((n) => `${n.address}/${n.prefix} on \`${n.ifname}\``).join(', ')}.`,
      solution: [{ where: vm.name, code: nics.flatMap((n) => [`ip addr add ${n.address}/${n.prefix} dev ${n.ifname}`, `ip link set dev ${n.ifname} up`]).join('\n') }],
    });
  }
  for (const d of tree.domains) {
    steps.push({
      title: `Root bridge and the blocked port`,
      task: `Make **${d.root}** the root bridge (a lower priority than the others). Which port does STP block? Work it out from the bridge ids, port ids and costs, then compare with \`bridge link show\` on each switch.`,
      solution: [
        {
          where: 'answer',
          lang: 'text',
          code: [
            `root ${d.root}: bridge id ${d.rootId} (priority ${next.bridges.find((b) => b.name === d.root)!.priority}, the lowest)`,
            ...tree.ports.filter((p) => p.state === 'blocking').map((p) => `blocked: ${p.bridge} ${p.ifname}: ${whyBlocked(next, p)}`),
          ].join('\n'),
        },
      ],
    });
  }
  const users = next.vms.filter((v) => v.kind === 'user');
  const targets = [...users.flatMap((u) => u.nics.flatMap((n) => (n.address ? [n.address] : []))), ...next.bridges.flatMap((b) => (b.address ? [b.address] : []))];
  steps.push({
    title: 'Test',
    task: `From each user VM, ping ${targets.join(', ')}. Then take a port in use down (\`ip link set dev … down\`) and watch the tree change with \`bridge link show\`.`,
    solution: [{ where: users[0]?.name ?? 'a user VM', code: targets.map((a) => `ping -c 1 ${a}`).join('\n') }],
  });
  return steps;
}

function stepsToCp2(whole: LabModel, next: LabModel, files: FileMap): Step[] {
  const steps: Step[] = [];
  for (const c of next.containers) {
    const full = whole.containers.find((x) => x.name === c.name)!;
    const packages = [...new Set([...(full.services.includes('keepalived') ? ['keepalived'] : []), ...(full.services.includes('haproxy') ? ['haproxy', 'curl', 'tcpdump'] : []), ...full.packages])];
    const n = c.nics[0];
    steps.push({
      title: `Balancer ${c.name} on ${c.host}`,
      task: `On ${c.host}, create container \`${c.name}\` from the Alpine image and install ${packages.join(', ')} through a temporary NIC on \`lxdbr0\`. Then connect it to \`${n.bridge}\`: interface \`${n.ifname}\` (MAC ${n.mac}, host end \`${n.hostIfname}\`), address ${n.address}/${n.prefix}, written in its /etc/network/interfaces with the handout's loopback and hostname fix.`,
      solution: [
        { where: c.host, code: [`lxc init alpine ${c.name}`, `lxc start ${c.name}`, ...installCommands(c, packages), ...nicCommands(c, c.nics), `lxc file edit ${c.name}/etc/network/interfaces   # write the file below`, lxcIn(c, 'rc-service networking restart')].join('\n') },
        { where: `/etc/network/interfaces of ${c.name}`, code: file(files, `containers/${c.name}/interfaces`), lang: 'text' },
      ],
    });
  }
  for (const g of next.vrrp) {
    for (const m of g.members) {
      const c = next.containers.find((x) => x.name === m.container)!;
      steps.push({
        title: `VRRP on ${c.name}`,
        task: `Write /etc/keepalived/keepalived.conf in ${c.name}: instance \`${g.name}\`, state BACKUP, interface \`${m.ifname}\`, virtual_router_id ${g.vrid}, priority ${m.priority}, advert_int ${g.advertInt}, VIP ${g.vip}/${g.prefix}. Start keepalived.`,
        solution: [
          { where: `/etc/keepalived/keepalived.conf of ${c.name}`, code: file(files, `containers/${c.name}/keepalived.conf`), lang: 'text' },
          { where: c.host, code: [lxcIn(c, 'rc-update add keepalived default'), `${lxcIn(c, 'rc-service keepalived start')}   # handout: /etc/init.d/keepalived start`].join('\n') },
        ],
      });
    }
    const master = g.members.find((m) => m.container === g.master)!;
    const backup = g.members.filter((m) => m !== master).sort((a, b) => b.priority - a.priority)[0];
    const masterC = next.containers.find((x) => x.name === master.container)!;
    const bridge = masterC.nics.find((n) => n.ifname === master.ifname)!.bridge;
    if (backup) {
      steps.push({
        title: 'Test and questions',
        task: `From each user VM ping ${[...g.members.map((x) => x.address), g.vip].join(', ')}. Then take \`${bridge}\` down on ${masterC.host}: does ${backup.container} take ${g.vip}? How long does it take? When \`${bridge}\` is back, does ${master.container} take the VIP back, how long, and why?`,
        solution: [
          {
            where: 'answer',
            lang: 'text',
            code: [
              `${master.container} (priority ${master.priority}) is master and holds ${g.vip}.`,
              `${backup.container} takes over after the master-down interval, 3 × advert_int + (256 − ${backup.priority})/256${g.version === 3 ? ` × ${g.advertInt}` : ''} = ${backup.masterDownInterval} s.`,
              g.preempt
                ? `Yes, ${master.container} takes it back (preemption): once ${bridge}'s ports forward again (2 × forward delay = ${2 * next.stp.forwardDelay} s with STP) ${backup.container} hears priority ${master.priority} > ${backup.priority} and steps down.`
                : `No: nopreempt keeps ${backup.container} master until it fails.`,
            ].join('\n'),
          },
        ],
      });
    }
  }
  return steps;
}

function stepsToCp3(whole: LabModel, now: LabModel, next: LabModel, files: FileMap): Step[] {
  const steps: Step[] = [];
  const servers = next.containers.filter((c) => c.image === 'alpineApache');
  const hosts = [...new Set(servers.map((c) => c.host))];
  const image = ['apache2', 'php', 'php-apache2', 'tcpdump'];
  for (const host of hosts) {
    const first = servers.find((c) => c.host === host)!;
    steps.push({
      title: `Image alpineApache on ${host}`,
      task: `On ${host}, create \`${first.name}\` from the Alpine image, install ${image.join(', ')}, stop it, snapshot it as \`conApache\` and publish the snapshot as image \`alpineApache\` (the other servers of ${host} start from it).`,
      solution: [{ where: host, code: [`lxc init alpine ${first.name}`, `lxc start ${first.name}`, ...installCommands(first, image), `lxc stop ${first.name}`, `lxc snapshot ${first.name} conApache`, `lxc publish ${first.name}/conApache --alias alpineApache`].join('\n') }],
    });
  }
  for (const b of next.bridges.filter((x) => !now.bridges.some((y) => y.name === x.name))) {
    steps.push({
      title: `Bridge ${b.name} on ${b.vm}`,
      task: `On ${b.vm}, create the internal bridge \`${b.name}\` (MAC ${b.mac}, STP ${b.stp ? 'on' : 'off'}, MTU ${b.mtu}${b.multicastSnooping ? '' : ', multicast snooping off'}).`,
      solution: [{ where: b.vm, code: bridgeCommands(next, b) }],
    });
  }
  for (const c of servers) {
    const first = servers.find((x) => x.host === c.host) === c;
    steps.push({
      title: `Server ${c.name} on ${c.host}`,
      task: `${first ? `Start \`${c.name}\`` : `Create \`${c.name}\` from image alpineApache`}, connect it to ${c.nics.map((n) => `\`${n.bridge}\` as \`${n.ifname}\` (MAC ${n.mac}) with ${n.address}/${n.prefix}`).join(', ')}, write an index.php that names the server, its address and the client's, start Apache and ask for the page from inside: \`curl http://localhost/index.php\`.`,
      solution: [
        { where: c.host, code: [...(first ? [`lxc start ${c.name}`] : [`lxc init alpineApache ${c.name}`, `lxc start ${c.name}`]), ...nicCommands(c, c.nics), `lxc file edit ${c.name}/etc/network/interfaces   # write the file below`, lxcIn(c, 'rc-service networking restart'), `lxc file edit ${c.name}/var/www/localhost/htdocs/index.php   # write the file below`, lxcIn(c, 'rc-update add apache2 default'), `${lxcIn(c, 'rc-service apache2 start')}   # handout: /etc/init.d/apache2 start`, lxcIn(c, 'curl -s http://localhost/index.php')].join('\n') },
        { where: `/etc/network/interfaces of ${c.name}`, code: file(files, `containers/${c.name}/interfaces`), lang: 'text' },
        { where: `/var/www/localhost/htdocs/index.php of ${c.name}`, code: file(files, `containers/${c.name}/index.php`), lang: 'php' },
      ],
    });
  }
  for (const c of next.containers.filter((x) => x.services.includes('haproxy'))) {
    const before = now.containers.find((x) => x.name === c.name);
    const added = c.nics.filter((n) => !before?.nics.some((m) => m.ifname === n.ifname));
    steps.push({
      title: `haproxy on ${c.name}`,
      task: `Connect ${c.name} to the internal network (${added.map((n) => `\`${n.ifname}\` on \`${n.bridge}\`, ${n.address}/${n.prefix}`).join(', ')}), check it reaches its servers (\`curl\` the index.php of each), then configure haproxy: a frontend on port ${whole.haproxy!.frontends[0].port} and a backend over every server, with health checks. Restart haproxy. The lab's keepalived also tracks haproxy, so that a dead haproxy gives up the VIP.`,
      solution: [
        { where: c.host, code: [...nicCommands(c, added), `lxc file edit ${c.name}/etc/network/interfaces   # write the file below`, lxcIn(c, 'rc-service networking restart'), `lxc file edit ${c.name}/etc/haproxy/haproxy.cfg   # write the file below`, `lxc file edit ${c.name}/etc/keepalived/check_haproxy.sh   # and the two keepalived files below`, lxcIn(c, 'chmod 755 /etc/keepalived/check_haproxy.sh'), `lxc file edit ${c.name}/etc/keepalived/keepalived.conf`, lxcIn(c, 'rc-update add haproxy default'), `${lxcIn(c, 'rc-service haproxy restart')}   # handout: /etc/init.d/haproxy restart`, lxcIn(c, 'rc-service keepalived restart')].join('\n') },
        { where: `/etc/network/interfaces of ${c.name}`, code: file(files, `containers/${c.name}/interfaces`), lang: 'text' },
        { where: `/etc/haproxy/haproxy.cfg of ${c.name}`, code: file(files, `containers/${c.name}/haproxy.cfg`), lang: 'text' },
        { where: `/etc/keepalived/check_haproxy.sh of ${c.name}`, code: file(files, `containers/${c.name}/check_haproxy.sh`), lang: 'sh' },
        { where: `/etc/keepalived/keepalived.conf of ${c.name}`, code: file(files, `containers/${c.name}/keepalived.conf`), lang: 'text' },
      ],
    });
  }
  const g = next.vrrp[0];
  const fe = next.haproxy?.frontends[0];
  const user = next.vms.find((v) => v.kind === 'user');
  if (g && fe && user) {
    const url = `http://${g.vip}:${fe.port}/`;
    const master = next.containers.find((c) => c.name === g.master)!;
    const inner = master.nics.find((n) => n.subnet !== g.subnet);
    const side = (c: ContainerModel) => servers.filter((s) => s.nics.some((n) => c.nics.some((m) => m.subnet !== g.subnet && m.bridge === n.bridge))).map((s) => s.name);
    const backup = next.containers.find((c) => c.name === g.members.filter((m) => m.container !== g.master).sort((a, b) => b.priority - a.priority)[0]?.container);
    steps.push({
      title: 'Test',
      task: `From ${user.name}, ask for ${url} several times: which servers answer, and which client address does the page show? Then make ${backup?.name ?? 'the backup'} master (stop keepalived on ${master.name}) and ask again.`,
      solution: [
        { where: user.name, code: `for i in $(seq 4); do curl -s ${url} | grep -o 'servidor [a-z0-9-]*'; done` },
        { where: 'answer', lang: 'text', code: [`Answers rotate over ${side(master).join(', ')}, the servers on ${master.name}'s own bridge (no VXLAN yet); the client is ${inner?.address}, ${master.name}'s inner address: haproxy is a proxy.`, ...(backup ? [`With ${backup.name} master, every answer comes from ${side(backup).join(', ')}.`] : [])].join('\n') },
      ],
    });
  }
  return steps;
}

function stepsToCp4(next: LabModel): Step[] {
  const steps: Step[] = [];
  for (const seg of next.vxlan) {
    for (const m of seg.members) {
      const port = next.bridges.find((b) => b.name === m.bridge)!.ports.find((p) => p.kind === 'vxlan')!;
      const code = [
        `ip link add name ${seg.name} address ${m.mac} type vxlan id ${seg.vni} local ${m.local}${seg.headEndReplication ? '' : ` remote ${m.remotes[0]}`} dstport ${seg.port} dev ${m.dev}`,
        ...(seg.headEndReplication ? m.remotes.map((r) => `bridge fdb append 00:00:00:00:00:00 dev ${seg.name} dst ${r}   # flood to ${r}`) : []),
        `ip link set dev ${seg.name} mtu ${seg.mtu}   # 50 bytes less than the underlay`,
        `ip link set dev ${seg.name} master ${m.bridge}`,
        `bridge link set dev ${seg.name} cost ${port.cost} priority ${port.priority}`,
        `ip link set dev ${seg.name} up`,
      ];
      steps.push({
        title: `VXLAN ${seg.name} on ${m.vm}`,
        task: `On ${m.vm}, join \`${m.bridge}\` to ${seg.members.filter((o) => o !== m).map((o) => `\`${o.bridge}\` on ${o.vm} (${o.local})`).join(', ')} with a VXLAN \`${seg.name}\`: VNI ${seg.vni}, UDP port ${seg.port}, local ${m.local} over \`${m.dev}\`${seg.headEndReplication ? ', one flood entry per peer (head-end replication)' : ''}. If multicast or broadcast does not cross, check multicast snooping on the bridges that must flood.`,
        solution: [{ where: m.vm, code: code.join('\n') }],
      });
    }
  }
  const g = next.vrrp[0];
  const fe = next.haproxy?.frontends[0];
  const user = next.vms.find((v) => v.kind === 'user');
  const servers = next.haproxy?.backends.find((b) => b.name === fe?.defaultBackend)?.servers ?? [];
  if (g && fe && user) {
    steps.push({
      title: 'Test',
      task: `Every internal address must reach every other one, and ${g.master} must spread requests over all the servers. Watch the VXLAN with tcpdump on a hypervisor while ${g.master} asks a server behind the tunnel.`,
      solution: [
        { where: user.name, code: `for i in $(seq ${servers.length * 2}); do curl -s http://${g.vip}:${fe.port}/ | grep -o 'servidor [a-z0-9-]*'; done` },
        { where: next.vxlan[0]?.members[0].vm ?? 'a hypervisor', code: `tcpdump -ni ${next.vxlan[0]?.members[0].dev} udp port ${next.vxlan[0]?.port}` },
        { where: 'answer', lang: 'text', code: `Answers rotate over ${servers.map((s) => s.name).join(', ')}.` },
      ],
    });
  }
  steps.push({
    title: 'Closing question',
    task: 'To grow, the VXLAN is extended to more hosts that run more servers. Does every new host need a balancer of its own?',
    solution: [{ where: 'answer', lang: 'text', code: 'No: any balancer reaches every server over the VXLAN, and the VRRP pair already protects the service address.' }],
  });
  return steps;
}

export function renderStageGuide(whole: LabModel, stage: Stage, options: { solutions: boolean; renderAt: (stage: Stage) => FileMap }): string {
  const now = stageModel(whole, stage);
  const next = nextStage(stage)!;
  const nextModel = stageModel(whole, next);
  const nextFiles = options.renderAt(next);
  const steps = {
    cp1: () => stepsToCp1(nextModel),
    cp2: () => stepsToCp2(whole, nextModel, nextFiles),
    cp3: () => stepsToCp3(whole, now, nextModel, nextFiles),
    cp4: () => stepsToCp4(nextModel),
    bare: () => [],
  }[next]();
  const built = (['cp1', 'cp2', 'cp3', 'cp4'] as const).filter((s) => builtBy(stage, s));
  return render('guide/stage.md.ejs', now, { whole, stage, next, checkpoint: checkpoints[next as Exclude<Stage, 'bare'>], built: built.map((s) => checkpoints[s]), steps, solutions: options.solutions });
}
