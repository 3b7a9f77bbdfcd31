// Every invalid spec in tests/errors/ must fail with exactly the message in its .txt twin.
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildLab } from '../libs/spec/load';
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

test.run();
