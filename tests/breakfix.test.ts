// `lab break`, the pure parts: the catalogue, the deterministic draw and the sealed record.
// The faults themselves are tested on the twin (breakfix-twin.test.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applicableEntries, BreakError, catalogue, drawEntries, seal, unseal, vipLine, type BreakRecord } from '../libs/checks/breakfix';
import { renderLab } from '../libs/render';
import { checks } from '../libs/checks/suite';
import { buildLab, readScenario } from '../libs/spec/load';
import { practica6 } from './helpers';

const model = practica6('fast');
const ids = (entries: Array<{ id: string }>) => entries.map((e) => e.id);

test('the catalogue: at least 12 entries, unique ids, every one applies to practica6', () => {
  assert.ok(catalogue.length >= 12, `${catalogue.length} entries`);
  assert.is(new Set(ids(catalogue)).size, catalogue.length);
  assert.equal(ids(applicableEntries(model)), ids(catalogue), catalogue.map((e) => `${e.id}: ${e.notApplicable(model)}`).join('\n'));
});

test("the VIP's line is found in the master's rendered keepalived.conf in both profiles (seed adds ` dev <nic>`)", () => {
  for (const profile of ['seed', 'fast'] as const) {
    const m = practica6(profile);
    const g = m.vrrp[0];
    const conf = renderLab(m)[`containers/${g.master}/keepalived.conf`];
    assert.ok(conf, `no containers/${g.master}/keepalived.conf rendered`);
    const line = vipLine(conf, g.vip, g.prefix);
    assert.ok(line, `${profile}: no line for ${g.vip}/${g.prefix} in\n${conf}`);
    assert.is(line!.split(' ')[0], `${g.vip}/${g.prefix}`);
    assert.is(line!.includes(' dev '), profile === 'seed');
  }
  assert.is(vipLine('    172.16.1.254/240 dev eth0\n', '172.16.1.254', 24), undefined);
});

test('a lab of switches and users only has the STP faults and nothing that needs a service', () => {
  const stage = buildLab(readScenario('practica6'), { source: 'practica6', profile: 'fast' });
  const cp1 = { ...stage, containers: [], vrrp: [], haproxy: null, vxlan: [] } as unknown as typeof stage;
  const fit = ids(applicableEntries(cp1));
  assert.ok(fit.length > 0 && fit.every((id) => id.startsWith('stp-')), fit.join(', '));
});

test('the draw: the same lab and seed give the same faults; another seed or lab, others', () => {
  const a = ids(drawEntries(model, 7, 3));
  assert.equal(ids(drawEntries(model, 7, 3)), a);
  const seeds = Array.from({ length: 20 }, (_, seed) => ids(drawEntries(model, seed, 3)).join());
  assert.ok(new Set(seeds).size > 10, `20 seeds gave only ${new Set(seeds).size} different draws`);
  const other = buildLab(readScenario('practica6'), { source: 'practica6', profile: 'fast', name: 'otro6' });
  const labs = Array.from({ length: 10 }, (_, seed) => ids(drawEntries(other, seed, 3)).join() !== ids(drawEntries(model, seed, 3)).join());
  assert.ok(labs.some(Boolean), 'another lab name draws the same faults for every seed');
});

test('the draw never takes two faults that share a tag, nor one beside a fault already there', () => {
  for (let seed = 0; seed < 50; seed++) {
    const drawn = drawEntries(model, seed, 4);
    const tags = drawn.flatMap((e) => e.tags);
    assert.is(new Set(tags).size, tags.length, `seed ${seed}: ${ids(drawn).join(', ')}`);
    const more = drawEntries(model, seed + 1000, 1, tags);
    assert.not.ok(more[0].tags.some((t) => tags.includes(t)), `seed ${seed}: ${more[0].id} beside ${ids(drawn).join(', ')}`);
  }
});

test('asking for more faults than fit together is refused, naming the count', () => {
  const most = new Set(catalogue.flatMap((e) => e.tags)).size;
  assert.throws(() => drawEntries(model, 1, most + 1), (e: Error) => e instanceof BreakError && e.message.includes(`--count ${most + 1}`));
});

test('every check an entry names is a check of the suite', () => {
  const known = new Set(checks.map((c) => c.id));
  const source = catalogue.map((e) => e.inject.toString()).join('\n');
  const named = [...source.matchAll(/'((?:cp\d|sec|drill)\.[a-z-]+)'/g)].map((m) => m[1]);
  assert.ok(named.length >= catalogue.length, `${named.length} check ids found`);
  assert.equal(named.filter((id) => !known.has(id)), []);
});

test('the sealed record: opens to what was sealed; a glance shows no fault, lab detail or repair', () => {
  const record: BreakRecord = {
    format: 'lab-break/1',
    lab: 'brk6',
    target: 'twin',
    seed: 7,
    at: '2026-11-24T13:30:00Z',
    faults: [{ id: 'stp-off', what: 'STP off on swout1 (on swout1)', checks: ['cp1.stp-on'], repair: [{ node: 'swout1', command: 'ip link set dev swout1 type bridge stp_state 1' }], state: { vm: 'swout1', bridge: 'swout1' } }],
  };
  const text = seal(record);
  assert.equal(unseal(text, 'x'), record);
  for (const word of ['stp', 'swout1', 'cp1', 'brk6']) assert.not.ok(text.toLowerCase().includes(word), `the record shows "${word}"`);
  assert.throws(() => unseal('{"format":"lab-break/1"}', '/run/lab-twin/brk6/break.sealed'), (e: Error) => e instanceof BreakError && e.message.includes('/run/lab-twin/brk6/break.sealed is not a lab break record'));
  assert.throws(() => unseal(text.replace(/\n[A-Za-z0-9+/]{10}/, '\n!!!!!!!!!!'), 'f'), (e: Error) => e instanceof BreakError);
});

test.run();
