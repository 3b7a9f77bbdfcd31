// Every invalid spec in tests/errors/ must fail with exactly the message in its .txt twin.
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildLab, readScenario } from '../libs/spec/load';
import { SpecError } from '../libs/spec/problems';

const dir = join(__dirname, 'errors');
const cases = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

test('there are at least 20 error fixtures', () => {
  assert.ok(cases.length >= 20, `only ${cases.length}`);
});

for (const file of cases) {
  test(`error fixture ${file}`, () => {
    const source = `tests/errors/${file}`;
    const expected = readFileSync(join(dir, file.replace(/\.json$/, '.txt')), 'utf8').trimEnd();
    try {
      buildLab(readFileSync(join(dir, file), 'utf8'), { source });
    } catch (error) {
      assert.instance(error, SpecError);
      assert.fixture((error as Error).message, expected);
      return;
    }
    assert.unreachable(`${file} was accepted`);
  });
}

test('every problem names a pointer, a reason and a hint', () => {
  for (const file of cases) {
    try {
      buildLab(readFileSync(join(dir, file), 'utf8'), { source: file });
    } catch (error) {
      for (const p of (error as SpecError).problems) {
        assert.ok(p.message.length > 0 && p.hint.length > 0, `${file}: ${JSON.stringify(p)}`);
        assert.ok(p.pointer === '' || p.pointer.startsWith('/'), `${file}: pointer ${p.pointer}`);
      }
    }
  }
});

/** Every array element of a spec that has a name or ends, with its pointer. */
function elementsOf(node: unknown, at = ''): Array<{ at: string; element: Record<string, unknown> }> {
  if (node === null || typeof node !== 'object') return [];
  const found: Array<{ at: string; element: Record<string, unknown> }> = [];
  for (const [key, child] of Object.entries(node)) {
    const here = `${at}/${key}`;
    if (Array.isArray(node) && child !== null && typeof child === 'object') found.push({ at: here, element: child as Record<string, unknown> });
    found.push(...elementsOf(child, here));
  }
  return found;
}

function problemsOf(text: string, source: string): SpecError | null {
  try {
    buildLab(text, { source });
    return null;
  } catch (error) {
    assert.instance(error, SpecError, (error as Error).stack);
    return error as SpecError;
  }
}

for (const [name, text] of [
  ['practica6', readScenario('practica6')],
  ['triple', readFileSync(join(__dirname, 'fixtures', 'triple.json'), 'utf8')],
]) {
  test(`${name}: a structural problem in any one element is reported alone, with nothing that follows from it`, () => {
    for (const { at, element } of elementsOf(JSON.parse(text))) {
      const identity = ['name', 'container', 'ends'].find((key) => key in element);
      const breakages: Array<[string, (e: Record<string, unknown>) => void, string]> = [['an unknown property', (e) => (e.colour = 'red'), 'unknown property "colour"']];
      if (identity) breakages.push([`no ${identity}`, (e) => delete e[identity], `missing required property "${identity}"`]);
      for (const [what, breakage, expected] of breakages) {
        const spec = JSON.parse(text);
        breakage(elementsOf(spec).find((e) => e.at === at)!.element);
        const error = problemsOf(JSON.stringify(spec), name);
        assert.ok(error, `${at} with ${what} was accepted`);
        assert.is(error!.problems.length, 1, `${at} with ${what}:\n${error!.message}`);
        assert.match(error!.problems[0].message, expected);
        assert.match(error!.message, 'more checks follow once these are fixed');
      }
    }
  });
}

test.run();
