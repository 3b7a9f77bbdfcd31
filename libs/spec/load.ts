// Text or object → validated spec → resolved model. Every failure is a SpecError listing all problems.
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { reachabilityWarnings } from '../model/reachability';
import { resolveLab, type ResolveOptions } from '../model/resolve';
import type { LabModel } from '../model/types';
import { formatProblems, namedPointer, SpecError, type Problem } from './problems';
import { labSchema, structuralProblems } from './schema';
import { soundPart } from './sound-part';
import type { LabSpec } from './types';
import { checkVariantId, variantSpec } from './variant';

/** What loading a spec takes: resolution's options, the name errors call the spec by, and a variant id. */
export type LoadOptions = ResolveOptions & { source: string; variant?: string };

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
export function buildLab(text: string, options: LoadOptions): LabModel {
  return buildVariant(text, options).model;
}

/**
 * buildLab, and the spec it resolved: the variant's when `options.variant` is given (see
 * variant.ts: applied to a structurally valid spec, before resolution; the model records its id).
 */
function buildVariant(text: string, options: LoadOptions): { model: LabModel; spec: LabSpec } {
  const { variant, ...resolveOptions } = options;
  if (variant !== undefined) checkVariantId(variant);
  if (options.name !== undefined) checkLabName(options.name);
  const document = parseSpecText(text, options.source);
  const structural = structuralProblems(document);
  if (structural.length === 0) {
    if (variant === undefined) return { model: resolveLab(document as LabSpec, resolveOptions), spec: document as LabSpec };
    const spec = variantSpec(document as LabSpec, variant);
    const source = `${options.source} (variant ${variant})`;
    return { model: { ...resolveLab(spec, { ...resolveOptions, source }), variant }, spec };
  }
  const sound = soundPart(document, structural);
  let semantic: Problem[] = [];
  if (sound.spec) {
    try {
      resolveLab(sound.spec, { ...resolveOptions, setAside: sound.setAside });
    } catch (error) {
      if (!(error instanceof SpecError)) throw error;
      semantic = error.problems;
    }
  }
  const notChecked = sound.leftOut.map((at) => namedPointer(document, at) || 'the rest of the spec');
  const note = notChecked.length > 0 ? `more checks follow once these are fixed (not checked yet: ${notChecked.join(', ')})` : undefined;
  throw new SpecError(options.source, [...structural, ...semantic], document, note);
}

/** A lab name given instead of the spec's own (`--name`) obeys the spec's rule for names. */
function checkLabName(name: string): void {
  const rule = labSchema.definitions.name;
  if (!new RegExp(rule.pattern).test(name)) throw new SpecError('--name', [{ pointer: '/name', value: name, message: 'not a valid lab name', hint: rule['x-hint'] }]);
}

/** The scenarios that ship with the project, by name (libs/spec/scenarios/<name>.json). */
export function embeddedScenarios(): string[] {
  return readdirSync(scenariosDir).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, '')).sort();
}

/**
 * buildLab for people: the model, and the warnings about a lab that is valid but cut off somewhere
 * (see reachability.ts) as a report in the errors' format, or null when there are none.
 */
export function loadLab(text: string, options: LoadOptions): { model: LabModel; warnings: Problem[]; warningReport: string | null } {
  const { model, spec } = buildVariant(text, options);
  const warnings = reachabilityWarnings(model);
  const source = options.variant === undefined ? options.source : `${options.source} (variant ${options.variant})`;
  const warningReport = warnings.length > 0 ? formatProblems(source, warnings, { document: spec, kind: 'warning' }) : null;
  return { model, warnings, warningReport };
}

export function readScenario(name: string): string {
  return readFileSync(join(scenariosDir, `${name}.json`), 'utf8');
}

/** How a user picks the spec: a file of theirs, or an embedded scenario by name (default practica6). */
export interface SpecChoice {
  spec?: string;
  scenario?: string;
}

/** How a spec file is found: `locate` makes its path absolute (a missing file is reported with it), `read` reads it (undefined when missing). */
export interface SpecFiles {
  read: (path: string) => string | undefined;
  locate: (path: string) => string;
  /** What to do about a missing file, in the caller's words. */
  hint: string;
}

/** The spec's text and the name errors call it by. */
export function specSource(choice: SpecChoice, files: SpecFiles): { text: string; source: string } {
  const { spec, scenario } = choice;
  if (spec && scenario) {
    throw new SpecError(spec, [{ pointer: '', value: scenario, message: 'a spec file and an embedded scenario were both given', hint: 'give a spec file of yours or --scenario, not both' }]);
  }
  if (!spec) {
    const name = scenario ?? defaultScenario;
    if (!embeddedScenarios().includes(name)) {
      throw new SpecError(`scenario ${name}`, [{ pointer: '', value: name, message: 'no embedded scenario has this name', hint: `embedded scenarios: ${embeddedScenarios().join(', ')}` }]);
    }
    return { text: readScenario(name), source: `${name} (embedded)` };
  }
  const path = files.locate(spec);
  const text = files.read(path);
  if (text === undefined) throw new SpecError(spec, [{ pointer: '', value: path, message: 'spec file not found', hint: files.hint }]);
  return { text, source: spec };
}
