// The whole workspace compiles under `strict`.
import { spawnSync } from 'child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { root } from './helpers';

test('tsc --noEmit passes with strict settings', () => {
  const run = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json', '--noEmit'], { cwd: root, encoding: 'utf8' });
  assert.is(run.status, 0, run.stdout + run.stderr);
});

test.run();
