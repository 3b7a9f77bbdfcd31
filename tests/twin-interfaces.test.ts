// The twin brings each container's network up from its generated `interfaces` file with
// ifupdown-ng, as Alpine does at boot: a hand edit takes effect, and a file ifupdown-ng cannot
// use stops `twin up` with a message naming the container and the file. Needs root. A lab of
// one hypervisor and one container, up in about a second.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveLab } from '../libs/model/resolve';
import { renderLab } from '../libs/render';
import { writeLab } from '../libs/render/write';
import type { LabSpec } from '../libs/spec/types';
import { down, labNamespaces, loadTwinLab, shOn, up } from '../libs/twin/twin';
import { labCli } from './helpers';

const name = 'ifacetest';
const spec: LabSpec = {
  name,
  subnets: [{ name: 'lan', cidr: '10.9.0.0/24' }],
  hypervisors: [{ name: 'hv', bridges: [{ name: 'br0', subnet: 'lan', address: '10.9.0.1' }] }],
  containers: [{ name: 'box', host: 'hv', nics: [{ bridge: 'br0', address: '10.9.0.10' }] }],
};
const base = mkdtempSync(join(tmpdir(), 'lab-iface-'));
chmodSync(base, 0o755);
const dir = join(base, name);
const file = join(dir, 'containers', 'box', 'interfaces');

const cleanup = () => {
  if (labNamespaces(name).length > 0) down(name, () => undefined);
};
process.on('exit', cleanup);

/** A freshly rendered lab whose interfaces file of `box` went through `edit`. */
function labWith(edit: (text: string) => string) {
  rmSync(dir, { recursive: true, force: true });
  writeLab(renderLab(resolveLab(spec, { name, source: name })), dir);
  writeFileSync(file, edit(readFileSync(file, 'utf8')));
  return loadTwinLab(dir);
}

const twinUpCli = () => labCli(['twin', 'up', dir]);

const t = suite('the twin brings containers up from their interfaces file (ifupdown-ng)');

t.before.each(cleanup);
t.after(() => {
  cleanup();
  rmSync(base, { recursive: true, force: true });
});

t('a hand-edited address is the container\'s address, not the model\'s', async () => {
  const lab = labWith((text) => text.replace('address 10.9.0.10/24', 'address 10.9.0.77/24'));
  await up(lab, () => undefined);
  const addresses = shOn(lab, 'box', 'ip -4 -o addr show dev eth0').stdout;
  assert.match(addresses, ' 10.9.0.77/24 ');
  assert.not.match(addresses, '10.9.0.10');
  assert.is(shOn(lab, 'hv', 'ping -c 1 -W 2 10.9.0.77').status, 0);
});

t('an address ifupdown-ng cannot read (it drops it without a word) stops twin up, naming the container and the file', () => {
  labWith((text) => text.replace('address 10.9.0.10/24', 'address 10.9.0.300/24'));
  const cli = twinUpCli();
  assert.is(cli.status, 1, cli.stdout);
  assert.match(cli.stderr, `container box: ${file} (its /etc/network/interfaces) did not bring its network up`);
  assert.match(cli.stderr, 'eth0 has no IPv4 address after ifup');
  assert.not.match(cli.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(labNamespaces(name), [], 'a failed up removes what it started');
});

t('a syntax error stops twin up with ifupdown-ng\'s own message', () => {
  labWith((text) => `${text}iface\n`);
  const cli = twinUpCli();
  assert.is(cli.status, 1, cli.stdout);
  assert.match(cli.stderr, `container box: ${file}`);
  assert.match(cli.stderr, /\/etc\/network\/interfaces:\d+: iface without any other tokens/);
  assert.equal(labNamespaces(name), []);
});

t.run();
