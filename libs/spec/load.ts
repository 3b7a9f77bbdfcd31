// Text or object → validated spec → resolved model. Every failure is a SpecError listing all problems.
import { readFileSync } from 'fs';
import { join } from 'path';
import { resolveLab, type ResolveOptions } from '../model/resolve';
import type { LabModel } from '../model/types';
import { namedPointer, SpecError, type Problem } from './problems';
import { structuralProblems } from './schema';
import { soundPart } from './sound-part';
import type { LabSpec } from './types';

export const scenariosDir = join(__dirname, 'scenarios');
export const defaultScenario = 'practica6';

export function parseSpecText(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = (error as Error).message;
    const offset = Number(/position (\d+)/.exec(reason)?.[1] ?? NaN);
    const before = text.slice(0, Number.isNaN(offset) ? text.length : offset).split('\n');
    const line = before.length;
    const where = Number.isNaN(offset) ? '' : ` at line ${line}, column ${before[line - 1].length + 1}`;
    throw new SpecError(source, [
      { pointer: '', value: text.split('\n')[line - 1]?.trim(), message: `not valid JSON${where}: ${reason}`, hint: 'fix the JSON syntax (a trailing comma or a missing quote is the usual cause)' },
    ]);
  }
}

/**
 * The whole front half of the pipeline: JSON text → model. A spec with structural problems is
 * still checked semantically where it is sound, so every problem is reported at once.
 */
export function buildLab(text: string, options: ResolveOptions & { source: string }): LabModel {
  const document = parseSpecText(text, options.source);
  const structural = structuralProblems(document);
  if (structural.length === 0) return resolveLab(document as LabSpec, options);
  const sound = soundPart(document, structural);
  let semantic: Problem[] = [];
  if (sound.spec) {
    try {
      resolveLab(sound.spec, { ...options, setAside: sound.setAside });
    } catch (error) {
      if (!(error instanceof SpecError)) throw error;
      semantic = error.problems;
    }
  }
  const notChecked = sound.leftOut.map((at) => namedPointer(document, at) || 'the rest of the spec');
  const note = notChecked.length > 0 ? `more checks follow once these are fixed (not checked yet: ${notChecked.join(', ')})` : undefined;
  throw new SpecError(options.source, [...structural, ...semantic], document, note);
}

export function readScenario(name: string): string {
  return readFileSync(join(scenariosDir, `${name}.json`), 'utf8');
}

/**
 * The spec's text and the name errors call it by: the file `spec`, read through `read` (the Nx
 * tree or the file system; undefined when missing) at `locate(spec)`, its absolute path, which
 * a missing file is reported with; or the embedded default when none is given.
 */
export function specSource(
  spec: string | undefined,
  read: (path: string) => string | undefined,
  hint: string,
  locate: (path: string) => string,
): { text: string; source: string } {
  if (!spec) return { text: readScenario(defaultScenario), source: `${defaultScenario} (embedded)` };
  const path = locate(spec);
  const text = read(path);
  if (text === undefined) throw new SpecError(spec, [{ pointer: '', value: path, message: 'spec file not found', hint }]);
  return { text, source: spec };
}
