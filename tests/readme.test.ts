// The README's promises that code can check: its apt-get line is the list `npm test` checks.
import { readFileSync } from 'fs';
import { join } from 'path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { root } from './helpers';

const { debianPackages } = require('../tools/debian-packages') as { debianPackages: () => string[] };

test("the README's apt-get line installs exactly tools/debian-packages.txt", () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const line = /sudo apt-get install -y --no-install-recommends \\\n([\s\S]*?)\n\s*```/.exec(readme)?.[1];
  assert.ok(line, 'README shows the apt-get line');
  const listed = line.replace(/\\\n/g, ' ').split(/\s+/).filter(Boolean).sort();
  assert.equal(listed, [...debianPackages()].sort());
});

test.run();
