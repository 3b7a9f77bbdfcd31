// The layers point one way (design.md, "Arrows point one way"): model → targets → observe →
// checks, bench, view. A file under libs/ may import its own layer or a lower one, never a
// higher one; a folder under libs/ that no layer names fails too, so a new folder gets a place.
import { readdirSync, readFileSync, statSync } from 'fs';
import { dirname, join, relative, resolve } from 'path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { root } from './helpers';

/** Lowest first. Folders in one entry may import each other (spec and model do). */
const layers: string[][] = [
  ['spec', 'model'],
  ['render'],
  ['targets', 'twin'],
  ['observe'],
  ['checks', 'view'],
];
const libs = join(root, 'libs');
const layerOf = (folder: string) => layers.findIndex((l) => l.includes(folder));

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return entry === 'node_modules' ? [] : tsFiles(path);
    return entry.endsWith('.ts') ? [path] : [];
  });
}

/** The relative module paths a file imports or re-exports (static and dynamic). */
export function importsOf(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'|\bimport\('([^']+)'\)|\brequire\('([^']+)'\)/g)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec.startsWith('.')) found.push(spec);
  }
  return found;
}

test('the import reader finds static, type-only, re-exported and dynamic imports', () => {
  const text = "import a from './a';\nimport type { B } from '../b/b';\nexport { c } from '../c';\nconst d = require('../d');\nawait import('../e');\nimport x from 'yargs';";
  assert.equal(importsOf(text), ['./a', '../b/b', '../c', '../d', '../e']);
});

test('every folder under libs/ has a layer', () => {
  const folders = readdirSync(libs).filter((f) => statSync(join(libs, f)).isDirectory());
  assert.equal(folders.filter((f) => layerOf(f) < 0), [], `give each of these a place in tests/layers.test.ts: ${layers.map((l) => l.join('+')).join(' → ')}`);
});

test('no file in libs/ imports a higher layer', () => {
  const wrong: string[] = [];
  for (const file of tsFiles(libs)) {
    const from = relative(libs, file).split('/')[0];
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const target = relative(libs, resolve(dirname(file), spec));
      if (target.startsWith('..')) continue; // outside libs/ (vagrant/boxes.json)
      const to = target.split('/')[0];
      if (layerOf(to) > layerOf(from)) wrong.push(`${relative(root, file)} imports ${spec} (${from} is below ${to})`);
    }
  }
  assert.equal(wrong, []);
});

test.run();
