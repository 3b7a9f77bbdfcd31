// The lab guide of a three-host lab (the embedded curso3), followed on the twin as a student
// would: its checkpoint-3 commands and its haproxy options' commands are read from the rendered
// README.md, run on the nodes they name, and their answers compared with what the guide says.
// Needs root.
import { chmodSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { pause } from '../libs/observe/observe';
import { renderLab } from '../libs/render';
import { writeLab } from '../libs/render/write';
import { buildLab, readScenario } from '../libs/spec/load';
import { down, fault, labNamespaces, loadTwinLab, shOn, up, type TwinLab } from '../libs/twin/twin';

const model = buildLab(readScenario('curso3'), { source: 'curso3', name: 'guide3' });
const files = renderLab(model);
const guide = files['README.md'];
const base = mkdtempSync(join(tmpdir(), 'lab-guide-twin-'));
chmodSync(base, 0o755);
const dir = join(base, model.name);
writeLab(files, dir);
let lab: TwinLab;
const cleanup = () => {
  if (labNamespaces(model.name).length > 0) down(model.name, () => undefined);
};
process.on('exit', cleanup);

/** The guide's section from one heading to the next. */
function section(heading: string): string {
  const start = guide.indexOf(heading);
  assert.ok(start >= 0, heading);
  const next = guide.indexOf('\n#', start + heading.length);
  return guide.slice(start, next === -1 ? undefined : next);
}

/** The commands of the guide's ```sh blocks in a text, in order, as [node, command]. */
function commands(text: string): Array<[string, string]> {
  const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  return blocks.flatMap((b) =>
    b.split('\n').map((l) => l.trim()).filter(Boolean).map((line): [string, string] => {
      const m = /^vagrant ssh (\S+) -c "(.*)"(\s+#.*)?$/.exec(line);
      assert.ok(m, `a vagrant ssh command: ${line}`);
      const inner = m![2];
      const lxc = /^sudo lxc exec (\S+) -- (.*)$/.exec(inner);
      return lxc ? [lxc[1], lxc[2]] : [m![1], inner.replace(/^sudo /, '')];
    }),
  );
}

/**
 * Runs a guide command on the twin; a student waits a little after changing something. The twin
 * has no OpenRC: `rc-service <daemon> stop|start` in a container is the twin's daemon fault.
 */
function follow([node, command]: [string, string]): string {
  const openrc = /^rc-service (\S+) (stop|start)$/.exec(command);
  let out = '';
  if (openrc) {
    fault(lab, `${node}:${openrc[1]}`, openrc[2] === 'stop' ? 'down' : 'up');
  } else {
    const r = shOn(lab, node, command);
    assert.is(r.status, 0, `${node}: ${command}: ${r.stderr}`);
    out = r.stdout;
  }
  if (/ip link set|rc-service/.test(command)) pause(3000);
  return out;
}

const serversIn = (out: string) => [...out.matchAll(/servidor ([a-z0-9-]+)/g)].map((m) => m[1]);
const listed = (text: string) => text.split(/,\s*|\s+and\s+/).map((s) => s.trim()).filter(Boolean);

const t = suite('the three-host guide, followed on the twin');

const cwd = process.cwd();
t.before(async () => {
  cleanup();
  // The guide's commands write files where they run (curl's cookie jar): here, not the checkout.
  process.chdir(base);
  lab = loadTwinLab(dir);
  await up(lab, () => undefined);
});

t.after(() => {
  cleanup();
  process.chdir(cwd);
  rmSync(base, { recursive: true, force: true });
});

t('checkpoint 3: with the VXLAN cut, each master serves the servers the guide names', () => {
  const cp3 = section('### 3. The balanced service');
  const expectedMaster = listed(/answers rotate over ([a-z0-9, -]+?) \(/.exec(cp3)![1]);
  const expectedBackup = listed(/every answer comes from ([a-z0-9, -]+?), the servers/.exec(cp3)![1]);
  assert.equal(expectedMaster, ['web1', 'web2']);
  assert.equal(expectedBackup, ['web3', 'web4']);
  const steps = commands(cp3);
  // The cut, then the requests through the master, then the backup as master.
  const cut = steps.filter(([, c]) => c.startsWith('ip link set dev vxint down'));
  assert.is(cut.length, 3);
  for (const step of cut) follow(step);
  const [rotation, page, stop, backupRotation, start] = steps.slice(cut.length);
  const seen = serversIn(follow(rotation));
  console.log(`  u1 through the master, VXLAN cut: ${seen.join(' ')}`);
  assert.is(seen.length, 4, `answers: ${seen.join(', ')}`);
  assert.equal([...new Set(seen)].sort(), expectedMaster);
  assert.match(follow(page), '10.10.0.250');
  follow(stop);
  const fromBackup = serversIn(follow(backupRotation));
  console.log(`  ${backupRotation[0]} with lb2 master, VXLAN cut: ${fromBackup.join(' ')}`);
  assert.is(fromBackup.length, 4, `answers: ${fromBackup.join(', ')}`);
  assert.equal([...new Set(fromBackup)].sort(), expectedBackup);
  follow(start);
  for (const h of ['h1', 'h2', 'h3']) follow([h, 'ip link set dev vxint up']);
});

t("the haproxy options: weights, cookie persistence and the /static route answer as the guide says", () => {
  const options = section("### This lab's haproxy options");
  const [weights, setCookie, jar, route] = commands(options);
  // Every server back in the master's rotation first: after the VXLAN returns, and whenever a
  // fast-profile health check (250 ms timeout) failed on a loaded machine, a server needs `rise`
  // good checks to be back. Waited for by time (30 s at most), not by a number of requests (60
  // once, which a loaded run used up while one server was still out).
  const all = new Set<string>();
  const deadline = Date.now() + 30_000;
  while (all.size < 6 && Date.now() < deadline) {
    for (const s of serversIn(follow(['u1', 'curl -s http://172.16.2.254:8000/']))) all.add(s);
    if (all.size < 6) pause(100);
  }
  assert.is(all.size, 6, `servers seen: ${[...all].join(', ')}`);
  const weighted = follow(weights);
  console.log(`  weights over 16 requests: ${weighted.trim().split('\n').map((l) => l.trim()).join('; ')}`);
  const counts = Object.fromEntries(weighted.trim().split('\n').map((l) => l.trim().split(/\s+servidor\s+/)).map(([n, s]) => [s, Number(n)]));
  const expected = Object.fromEntries([.../about ([a-z0-9 ,]+)\./.exec(options)![1].matchAll(/(web\d) (\d+)/g)].map((m) => [m[1], Number(m[2])]));
  for (const [server, n] of Object.entries(expected)) assert.ok(Math.abs((counts[server] ?? 0) - n) <= 1, `${server}: ${counts[server]} answers, the guide says about ${n}`);
  assert.match(follow(setCookie), /^set-cookie: SERVERID=web\d/im);
  const pinned = serversIn(follow(jar));
  assert.is(pinned.length, 4);
  assert.is(new Set(pinned).size, 1, `answers with the cookie: ${pinned.join(', ')}`);
  const routed = serversIn(follow(route));
  assert.is(routed.length, 6);
  assert.equal([...new Set(routed)].sort(), listed(/answers only from ([a-z0-9, ]+);/.exec(options)![1]));
  assert.match(follow(['u1', 'curl -s http://172.16.2.254:8000/static/x']), 'path=/static/x');
});

t.run();
