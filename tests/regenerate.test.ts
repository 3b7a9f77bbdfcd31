// Regeneration keeps hand edits: each case on a real rendered lab through `npm run lab -- render`,
// and once through the Nx generator.
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, relative } from 'path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { scenarioGenerator } from '../generators/scenario/generator';
import { planRegeneration } from '../libs/render/regenerate';
import type { LabSpec } from '../libs/spec/types';
import { labCli, practica6Spec } from './helpers';

const base = mkdtempSync(join(tmpdir(), 'lab-regen-'));
const specFile = join(base, 'spec.json');
const lab = join(base, 'out', 'p6');
const haproxy1 = join(lab, 'containers/bal1/haproxy.cfg');
const haproxy2 = join(lab, 'containers/bal2/haproxy.cfg');

function writeSpec(edit: (spec: LabSpec) => void = () => undefined) {
  const spec = practica6Spec();
  spec.name = 'p6';
  edit(spec);
  writeFileSync(specFile, JSON.stringify(spec, null, 2));
}
const weight = (w: number) => (spec: LabSpec) => {
  spec.haproxy!.backends[0].servers[1].weight = w;
};
function render(...flags: string[]) {
  const run = labCli(['render', specFile, '--out-dir', join(base, 'out'), ...flags]);
  return { status: run.status, out: run.stdout + run.stderr };
}
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (d: string) => {
    for (const entry of readdirSync(d)) {
      const p = join(d, entry);
      if (statSync(p).isDirectory()) walk(p);
      else files[relative(dir, p)] = readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return files;
}
const edit = (file: string, from: string, to: string) => {
  const text = readFileSync(file, 'utf8');
  assert.ok(text.includes(from), `${file} has no "${from}"`);
  writeFileSync(file, text.replace(from, to));
};

const t = suite('regeneration keeps hand edits');
t.after(() => rmSync(base, { recursive: true, force: true }));

t('a render records the pristine text and a manifest in .lab/', () => {
  writeSpec();
  const first = render();
  assert.is(first.status, 0, first.out);
  const manifest = JSON.parse(readFileSync(join(lab, '.lab/manifest.json'), 'utf8'));
  assert.ok(Object.keys(manifest.files).includes('containers/bal1/haproxy.cfg'));
  assert.is(readFileSync(join(lab, '.lab/pristine/containers/bal1/haproxy.cfg'), 'utf8'), readFileSync(haproxy1, 'utf8'));
});

t('nothing edited, same spec: every file unchanged, byte for byte', () => {
  const before = snapshot(lab);
  const again = render();
  assert.is(again.status, 0);
  assert.match(again.out, /^\d+ unchanged$/m);
  assert.equal(snapshot(lab), before);
});

t('hand edit + a server weight changed in the spec: both changes present', () => {
  edit(haproxy1, 'timeout client 30000ms', 'timeout client 60000ms');
  writeSpec(weight(3));
  const run = render();
  assert.is(run.status, 0, run.out);
  assert.match(run.out, /containers\/bal1\/haproxy\.cfg\s+merged/);
  assert.match(run.out, /containers\/bal2\/haproxy\.cfg\s+replaced/);
  const merged = readFileSync(haproxy1, 'utf8');
  assert.match(merged, 'timeout client 60000ms');
  assert.match(merged, 'server serv2 10.0.0.2:80 check weight 3');
  assert.match(readFileSync(haproxy2, 'utf8'), 'server serv2 10.0.0.2:80 check weight 3');
});

t('a hand edit whose generated text did not change is kept as it is', () => {
  const keepalived = join(lab, 'containers/bal2/keepalived.conf');
  edit(keepalived, 'garp_master_refresh 1', 'garp_master_refresh 2');
  const edited = readFileSync(keepalived, 'utf8');
  const run = render();
  assert.match(run.out, /containers\/bal2\/keepalived\.conf\s+kept/);
  assert.is(readFileSync(keepalived, 'utf8'), edited);
});

t('a file deleted by hand stays deleted, and is reported', () => {
  rmSync(join(lab, 'containers/serv3/lab.conf'));
  const run = render();
  assert.is(run.status, 0);
  assert.match(run.out, /containers\/serv3\/lab\.conf\s+deleted by hand: stays deleted/);
  assert.not.ok(existsSync(join(lab, 'containers/serv3/lab.conf')));
});

t('--dry-run prints what each file would get and writes nothing', () => {
  edit(haproxy1, 'server serv2 10.0.0.2:80 check weight 3', 'server serv2 10.0.0.2:80 check weight 5');
  writeSpec(weight(4));
  const before = snapshot(lab);
  const run = render('--dry-run');
  assert.match(run.out, /file\s+would be/);
  assert.match(run.out, /containers\/bal1\/haproxy\.cfg\s+CONFLICT/);
  assert.match(run.out, /containers\/bal2\/haproxy\.cfg\s+replaced/);
  assert.equal(snapshot(lab), before);
});

t('the same line edited both ways: conflict markers, exit 1, the other files still updated', () => {
  const run = render();
  assert.is(run.status, 1, run.out);
  assert.match(run.out, '1 conflict: containers/bal1/haproxy.cfg');
  const conflicted = readFileSync(haproxy1, 'utf8');
  assert.match(conflicted, /<<<<<<< edited by hand\n {4}server serv2 10\.0\.0\.2:80 check weight 5\n\|\|\|\|\|\|\| generated before\n {4}server serv2 10\.0\.0\.2:80 check weight 3\n=======\n {4}server serv2 10\.0\.0\.2:80 check weight 4\n>>>>>>> generated now/);
  assert.match(conflicted, 'timeout client 60000ms');
  assert.match(readFileSync(haproxy2, 'utf8'), 'server serv2 10.0.0.2:80 check weight 4');
  assert.match(readFileSync(join(lab, 'lab.json'), 'utf8'), '"weight": 4');
});

t('a file no longer generated is removed if untouched, kept if edited', () => {
  writeSpec((spec) => {
    weight(4)(spec);
    spec.containers = spec.containers!.filter((c) => c.name !== 'serv2');
    spec.haproxy!.backends[0].servers = spec.haproxy!.backends[0].servers.filter((s) => s.container !== 'serv2');
  });
  edit(join(lab, 'containers/serv2/index.php'), 'Esto es el servidor serv2', 'Esto es el servidor dos');
  const run = render();
  assert.match(run.out, /containers\/serv2\/index\.php\s+kept \(no longer generated, but edited by hand\)/);
  assert.match(run.out, /containers\/serv2\/lab\.conf\s+removed/);
  assert.ok(existsSync(join(lab, 'containers/serv2/index.php')));
  assert.not.ok(existsSync(join(lab, 'containers/serv2/lab.conf')));
  assert.not.ok(existsSync(join(lab, '.lab/pristine/containers/serv2/lab.conf')));
});

t('--force overwrites everything, restores deleted files, and reports it', () => {
  writeSpec(weight(4));
  const run = render('--force');
  assert.is(run.status, 0, run.out);
  assert.match(run.out, /containers\/bal1\/haproxy\.cfg\s+overwritten \(--force\)/);
  assert.match(run.out, /containers\/serv3\/lab\.conf\s+overwritten \(--force\)/);
  assert.not.match(readFileSync(haproxy1, 'utf8'), '<<<<<<<');
  assert.match(readFileSync(haproxy1, 'utf8'), 'timeout client 30000ms');
  assert.ok(existsSync(join(lab, 'containers/serv3/lab.conf')));
  // Afterwards, nothing differs from the pristine record.
  assert.match(render().out, /^\d+ unchanged$/m);
});

t.run();

const g = suite('regeneration through the Nx generator');

g('conflicts are listed and make the command exit non-zero; other files are written', async () => {
  const tree = createTreeWithEmptyWorkspace();
  await scenarioGenerator(tree, {});
  const path = 'out/practica6/containers/bal1/haproxy.cfg';
  tree.write(path, tree.read(path, 'utf-8')!.replace('check weight 1', 'check weight 7'));
  const spec = practica6Spec();
  spec.haproxy!.backends[0].servers[0].weight = 2;
  tree.write('spec.json', JSON.stringify(spec));
  const callback = await scenarioGenerator(tree, { spec: 'spec.json' });
  assert.match(tree.read(path, 'utf-8')!, '<<<<<<< edited by hand');
  assert.match(tree.read('out/practica6/containers/bal2/haproxy.cfg', 'utf-8')!, 'server serv1 10.0.0.1:80 check weight 2');
  // Nx turns a throwing callback into a non-zero exit, after the files are written.
  assert.throws(() => callback(), /1 file\(s\) have conflict markers to resolve: containers\/bal1\/haproxy\.cfg/);
});

g('plan: no record of an earlier render means replace, not merge', () => {
  const plan = planRegeneration({ 'a.txt': 'new\n' }, (p) => (p === 'a.txt' ? 'old\n' : null));
  assert.equal(plan.outcomes, [{ path: 'a.txt', action: 'replace', text: 'new\n' }]);
});

g.run();
