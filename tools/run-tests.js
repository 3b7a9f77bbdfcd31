#!/usr/bin/env node
// Runs every uvu suite (tests/**/*.test.ts), streaming its output, and ends with one plain
// line: "N passed, N failed". First it makes sure the Debian packages the tests use are there:
// as root it installs the missing ones, otherwise it names the command and stops.
const { spawn, spawnSync } = require('child_process');
const { join } = require('path');
const { missingPackages } = require('./debian-packages');

const root = join(__dirname, '..');

const missing = missingPackages();
if (missing === null) {
  process.stderr.write('run-tests: no dpkg here; the tests expect Debian 12 with the packages in tools/debian-packages.txt\n');
} else if (missing.length) {
  const install = ['apt-get', 'install', '-y', '--no-install-recommends', ...missing];
  if (process.getuid() !== 0) {
    process.stderr.write(`run-tests: missing Debian packages; run this, then npm test again (the twin tests need root too):\n  sudo apt-get update && sudo ${install.join(' ')}\n`);
    process.stdout.write('\n0 passed, 1 failed\n');
    process.exit(1);
  }
  process.stdout.write(`run-tests: installing ${missing.join(' ')}\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const argv of [['apt-get', 'update', '-q'], install]) {
    const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'inherit', 'inherit'], env });
    if (r.status !== 0) {
      process.stderr.write(`run-tests: ${argv.join(' ')} failed (exit ${r.status})\n`);
      process.stdout.write('\n0 passed, 1 failed\n');
      process.exit(1);
    }
  }
}
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
