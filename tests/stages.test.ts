// Stages (--stage bare|cp1|cp2|cp3|cp4): each renders only what it configures, its scripts pass
// shellcheck, its guide says what to build next with collapsed solutions, cp4 is the whole lab
// byte for byte, and rendering a later stage into the same folder keeps hand edits.
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse as parseYaml } from 'yaml';
import { scenarioGenerator } from '../generators/scenario/generator';
import { stages, type Stage } from '../libs/model/stage';
import type { LabModel } from '../libs/model/types';
import { renderLab, type FileMap } from '../libs/render';
import { regenerateLab, writeLab } from '../libs/render/write';
import { buildLab, readScenario } from '../libs/spec/load';
import { SpecError } from '../libs/spec/problems';
import { labCli, practica6, root, updateGolden } from './helpers';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const curso3 = (profile?: 'seed' | 'fast') => buildLab(readScenario('curso3'), { source: 'curso3', profile });
const p6 = practica6();
const byStage = Object.fromEntries(stages.map((s) => [s, renderLab(p6, { stage: s })])) as Record<Stage, FileMap>;
const labJson = (files: FileMap) => JSON.parse(files['lab.json']) as LabModel;

test('cp4, the default, is the whole lab byte for byte as before stages (practica6, curso3; seed, fast)', () => {
  const goldenFile = join(root, 'tests/golden/render-cp4.json');
  const golden = JSON.parse(readFileSync(goldenFile, 'utf8'));
  const now: Record<string, Record<string, string>> = {};
  for (const [name, build] of [['practica6', practica6], ['curso3', curso3]] as const) {
    for (const profile of ['seed', 'fast'] as const) {
      const model = build(profile);
      const files = renderLab(model);
      assert.equal(renderLab(model, { stage: 'cp4' }), files);
      assert.equal(renderLab(model, { stage: 'cp4', solutions: false }), files);
      now[`${name}-${profile}`] = Object.fromEntries(Object.entries(files).map(([p, t]) => [p, sha256(t)]));
    }
  }
  if (updateGolden) writeFileSync(goldenFile, `${JSON.stringify({ $comment: golden.$comment, ...now }, null, 2)}\n`);
  for (const key of Object.keys(now)) assert.equal(now[key], golden[key], key);
  assert.not.ok('stage' in labJson(byStage.cp4));
});

test('each stage renders only what it configures', () => {
  const has = (s: Stage, path: string) => path in byStage[s];
  // bare: VMs wired, packages, LXD and the Alpine image; no bridge, no address, no container.
  assert.not.match(byStage.bare['hosts/vm1/network.sh'], 'make_bridge');
  assert.not.match(byStage.bare['hosts/usuario/network.sh'], 'ip addr');
  assert.match(byStage.bare['hosts/vm1/lxd.sh'], 'lxc image copy images:alpine/3.23 local: --alias alpine');
  assert.match(byStage.bare['hosts/vm1/bootstrap.sh'], 'sh "$lab/lxd.sh"');
  assert.not.match(byStage.bare['hosts/vm1/bootstrap.sh'], 'containers');
  assert.not.match(byStage.bare.Vagrantfile, '"containers"');
  assert.is(byStage.bare.Vagrantfile.match(/private_network", auto_config: false/g)!.length, byStage.cp4.Vagrantfile.match(/private_network", auto_config: false/g)!.length);
  for (const s of ['bare', 'cp1'] as const) assert.not.ok(Object.keys(byStage[s]).some((p) => p.startsWith('containers/') || p.endsWith('containers.sh') || p.includes('/lxd/')), s);
  // cp1: the external bridges with STP and the addresses; no internal bridge.
  assert.match(byStage.cp1['hosts/vm1/network.sh'], 'make_bridge vswout1');
  assert.not.match(byStage.cp1['hosts/vm1/network.sh'], 'vswin1');
  assert.match(byStage.cp1['hosts/usuario/network.sh'], 'ip addr replace 172.16.1.100/24');
  assert.equal(labJson(byStage.cp1).spanningTree.blocked, labJson(byStage.cp4).spanningTree.blocked);
  // cp2: the balancers with their external NIC and keepalived only.
  assert.equal(Object.keys(byStage.cp2).filter((p) => p.startsWith('containers/')), ['containers/bal1/interfaces', 'containers/bal1/keepalived.conf', 'containers/bal2/interfaces', 'containers/bal2/keepalived.conf']);
  assert.not.match(byStage.cp2['containers/bal1/keepalived.conf'], 'chk_haproxy');
  assert.not.match(byStage.cp2['containers/bal1/interfaces'], '10.0.0.250');
  assert.match(byStage.cp2['hosts/vm1/containers.sh'], 'add_packages bal1 keepalived haproxy curl tcpdump');
  assert.not.ok(has('cp1', 'containers/bal1/keepalived.conf'));
  // cp3: servers, internal bridges and haproxy; no VXLAN anywhere.
  for (const p of ['containers/bal1/haproxy.cfg', 'containers/serv3/index.php', 'hosts/vm2/lxd/lab-serv3.yaml']) assert.ok(has('cp3', p), p);
  assert.match(byStage.cp3['hosts/vm1/network.sh'], 'make_bridge vswin1');
  for (const p of ['hosts/vm1/network.sh', 'hosts/vm1/netplan.yaml', 'hosts/vm2/network.sh', 'Vagrantfile']) assert.not.match(byStage.cp3[p], /type vxlan|vxin/, p);
  assert.equal(labJson(byStage.cp3).vxlan, []);
  assert.match(byStage.cp4['hosts/vm1/network.sh'], 'type vxlan id 42');
  // The model records the stage; every stage keeps the NICs and MACs of the whole lab.
  for (const s of stages.filter((x) => x !== 'cp4')) {
    assert.is(labJson(byStage[s]).stage, s);
    assert.equal(labJson(byStage[s]).vms.map((v) => v.nics.map((n) => n.mac)), p6.vms.map((v) => v.nics.map((n) => n.mac)), s);
  }
});

test('every stage of practica6 and curso3: headers, sh scripts shellcheck-clean, YAML that parses', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lab-stages-'));
  try {
    const scripts: string[] = [];
    for (const [name, model] of [['practica6', p6], ['curso3', curso3()]] as const) {
      for (const s of stages) {
        const files = renderLab(model, { stage: s });
        writeLab(files, join(dir, `${name}-${s}`));
        for (const [path, text] of Object.entries(files)) {
          assert.ok(text.split('\n').slice(0, 4).join('\n').includes('Generated by `nx g lab:scenario`'), `${name} ${s} ${path}`);
          assert.not.match(text, 'undefined', `${name} ${s} ${path}`);
          if (path.endsWith('.sh')) {
            assert.match(text, /^set -eu$/m, path);
            scripts.push(join(`${name}-${s}`, path));
          }
          if (path.endsWith('.yaml')) assert.ok(parseYaml(text), `${name} ${s} ${path}`);
        }
      }
    }
    const check = spawnSync('shellcheck', ['--shell=sh', '--severity=style', ...scripts], { cwd: dir, encoding: 'utf8' });
    assert.is(check.status, 0, `${check.stdout}${check.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the tools that consume them accept the files only stages have: netplan generate (bare, cp1, cp3), keepalived -t (cp2), vagrant validate (bare)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lab-stages-tools-'));
  const run = (command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) => {
    const r = spawnSync(command, args, { encoding: 'utf8', ...options });
    return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
  };
  const ns = `labst-${process.pid}`;
  try {
    for (const s of ['bare', 'cp1', 'cp3'] as const) {
      const root = join(dir, `netplan-${s}`);
      writeLab({ 'etc/netplan/60-lab.yaml': byStage[s]['hosts/vm1/netplan.yaml'] }, root);
      const check = run('netplan', ['generate', '--root-dir', root]);
      assert.is(check.status, 0, `${s}: ${check.output}`);
      for (const bridge of labJson(byStage[s]).vms.find((v) => v.name === 'vm1')!.bridges) assert.ok(readFileSync(join(root, 'run/systemd/network', `10-netplan-${bridge}.netdev`), 'utf8'), `${s} ${bridge}`);
    }
    // keepalived -t wants the interface: a namespace with bal1's cp2 NIC and the cp2 config.
    writeLab({ 'keepalived.conf': byStage.cp2['containers/bal1/keepalived.conf'] }, join(dir, 'keepalived'));
    assert.is(run('ip', ['netns', 'add', ns]).status, 0, 'ip netns add (needs root)');
    assert.is(run('ip', ['-n', ns, 'link', 'add', 'name', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0']).status, 0);
    const script = `mount -t tmpfs tmpfs /etc/keepalived && cp ${join(dir, 'keepalived')}/* /etc/keepalived/ && keepalived -t -f /etc/keepalived/keepalived.conf`;
    const keepalived = run('ip', ['netns', 'exec', ns, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', script]);
    assert.is(keepalived.status, 0, keepalived.output);
    writeLab(byStage.bare, join(dir, 'bare'));
    const vagrant = run('vagrant', ['validate', '--ignore-provider'], { cwd: join(dir, 'bare'), env: { ...process.env, VAGRANT_CHECKPOINT_DISABLE: '1' } });
    assert.is(vagrant.status, 0, vagrant.output);
  } finally {
    run('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a stage's guide says what to build next, with this lab's names, and folds the solutions", () => {
  const guide = byStage.cp2['README.md'];
  assert.match(guide, '# Práctica 6: balanced web service with redundancy — stage cp2');
  assert.match(guide, '## Build next: checkpoint 3 (30%), the servers and haproxy, before the VXLAN');
  assert.match(guide, 'lxc publish serv1/conApache --alias alpineApache');
  assert.match(guide, "Answers rotate over serv1, serv2, the servers on bal1's own bridge");
  // The solution is what cp3 renders: haproxy.cfg of bal1, inside a collapsed section.
  const details = guide.split('<details>').slice(1).map((d) => d.split('</details>')[0]);
  assert.ok(details.some((d) => d.includes(byStage.cp3['containers/bal1/haproxy.cfg'].trimEnd())));
  const bare = renderLab(p6, { stage: 'bare', solutions: false })['README.md'];
  assert.match(bare, '## Build next: checkpoint 1 (25%), the external network with STP');
  assert.match(bare, 'Make **swout2** the root bridge');
  const without = renderLab(p6, { stage: 'cp2', solutions: false })['README.md'];
  assert.not.match(without, '<details>');
  assert.not.match(without, 'frontend miservidor');
  assert.match(without, '### 8. haproxy on bal1');
  assert.match(byStage.cp1['README.md'], '3 × advert_int + (256 − 100)/256 = 3.609 s');
  assert.match(byStage.cp3['README.md'], 'type vxlan id 42 local 172.16.1.240 remote 172.16.1.241 dstport 4789 dev vswout1');
  assert.match(renderLab(curso3(), { stage: 'cp3' })['README.md'], 'bridge fdb append 00:00:00:00:00:00 dev vxint dst');
});

test('moving a student forward: cp2 rendered again at cp4 into the same folder keeps hand edits', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'lab-stage-forward-')), 'practica6');
  try {
    regenerateLab(byStage.cp2, dir);
    const conf = join(dir, 'containers/bal1/keepalived.conf');
    writeFileSync(conf, readFileSync(conf, 'utf8').replace('    priority 150\n', '    priority 200\n'));
    const iface = join(dir, 'containers/bal1/interfaces');
    writeFileSync(iface, readFileSync(iface, 'utf8').replace('iface lo inet loopback\n', 'iface lo inet loopback\n# my note\n'));
    const plan = regenerateLab(renderLab(p6, { stage: 'cp4' }), dir);
    assert.equal(plan.conflicts, []);
    const action = (path: string) => plan.outcomes.find((o) => o.path === path)?.action;
    assert.is(action('containers/bal1/keepalived.conf'), 'merge');
    assert.is(action('containers/bal1/interfaces'), 'merge');
    assert.is(action('containers/bal1/haproxy.cfg'), 'create');
    assert.is(action('hosts/vm1/network.sh'), 'replace');
    const merged = readFileSync(conf, 'utf8');
    assert.match(merged, 'priority 200');
    assert.match(merged, 'track_script');
    const mergedIface = readFileSync(iface, 'utf8');
    assert.match(mergedIface, '# my note');
    assert.match(mergedIface, 'address 10.0.0.250/24');
    assert.not.ok('stage' in JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8')));
    // Every file not edited by hand is now exactly the whole lab's.
    for (const [path, text] of Object.entries(byStage.cp4)) {
      if (!path.startsWith('containers/bal1/')) assert.ok(readFileSync(join(dir, path), 'utf8') === text, path);
    }
  } finally {
    rmSync(join(dir, '..'), { recursive: true, force: true });
  }
});

test('an unknown stage is a clear error: renderer, generator and CLI', async () => {
  assert.throws(() => renderLab(p6, { stage: 'cp9' as Stage }), /unknown stage "cp9": stages are bare, cp1, cp2, cp3, cp4/);
  try {
    await scenarioGenerator(createTreeWithEmptyWorkspace(), { stage: 'cp9' as Stage });
    assert.unreachable('accepted');
  } catch (error) {
    assert.instance(error, SpecError);
    assert.match((error as Error).message, 'unknown stage');
    assert.match((error as Error).message, 'stages: bare, cp1, cp2, cp3, cp4');
  }
  const cli = labCli(['render', '--stage', 'cp9', '--dry-run']);
  assert.is(cli.status, 1);
  assert.match(cli.stderr, 'Argument: stage, Given: "cp9", Choices: "bare", "cp1", "cp2", "cp3", "cp4"');
});

test('the generator takes --stage and --no-solutions', async () => {
  const tree = createTreeWithEmptyWorkspace();
  await scenarioGenerator(tree, { stage: 'cp2', solutions: false, name: 'p6stage' });
  const expected = renderLab(buildLab(readScenario('practica6'), { source: 'practica6', name: 'p6stage' }), { stage: 'cp2', solutions: false });
  for (const [path, text] of Object.entries(expected)) assert.ok(tree.read(`out/p6stage/${path}`, 'utf-8') === text, path);
  assert.is(JSON.parse(tree.read('out/p6stage/lab.json', 'utf-8')!).stage, 'cp2');
  assert.not.match(tree.read('out/p6stage/README.md', 'utf-8')!, '<details>');
  assert.not.ok(tree.exists('out/p6stage/containers/serv1/index.php'));
});

test.run();
