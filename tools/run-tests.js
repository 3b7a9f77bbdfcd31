#!/usr/bin/env node
// Runs every uvu suite (tests/**/*.test.ts), streaming its output, and ends with one plain
// line: "N passed, N failed".
const { spawn } = require('child_process');
const { join } = require('path');

const root = join(__dirname, '..');
const filter = process.argv[2] || '\\.test\\.ts$';
const child = spawn(
  process.execPath,
  [join(root, 'node_modules', 'uvu', 'bin.js'), 'tests', filter, '-r', join(root, 'tools', 'register.js')],
  { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
);
let out = '';
child.stdout.on('data', (chunk) => {
  out += chunk;
  process.stdout.write(chunk);
});
child.on('close', (status) => {
  const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
  const count = (label) => Number((new RegExp(`${label}:\\s+(\\d+)`).exec(plain) || [])[1] || 0);
  const total = count('Total');
  const passed = count('Passed');
  const skipped = count('Skipped');
  // uvu stops a file at its first crash; a non-zero exit with no failures counted is still a failure.
  const failed = Math.max(total - passed - skipped, status === 0 ? 0 : 1);
  process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  process.exit(failed > 0 || status !== 0 ? 1 : 0);
});
