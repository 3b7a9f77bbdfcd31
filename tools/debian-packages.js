// The Debian packages the tests need (tools/debian-packages.txt) and which of them are missing.
const { spawnSync } = require('child_process');
const { readFileSync } = require('fs');
const { join } = require('path');

function debianPackages() {
  return readFileSync(join(__dirname, 'debian-packages.txt'), 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean);
}

/** The packages dpkg does not list as installed; null where there is no dpkg (not Debian). */
function missingPackages(packages = debianPackages()) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Package} ${db:Status-Status}\n', ...packages], { encoding: 'utf8' });
  if (r.error) return null;
  const installed = new Set(r.stdout.split('\n').filter((l) => l.endsWith(' installed')).map((l) => l.split(' ')[0]));
  return packages.filter((p) => !installed.has(p));
}

module.exports = { debianPackages, missingPackages };
