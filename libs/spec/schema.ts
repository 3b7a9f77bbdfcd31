// Structural validation of a spec against lab.schema.json (ajv), with errors turned into Problems.
import Ajv, { type ErrorObject } from 'ajv';
import schema from './lab.schema.json';
import { pointer, valueAt, type Problem } from './problems';
import type { LabSpec } from './types';

export { schema as labSchema };

const ajv = new Ajv({ allErrors: true, strict: true, verbose: true });
ajv.addKeyword({ keyword: 'x-hint', schemaType: 'string' });
const validateStructure = ajv.compile<LabSpec>(schema);

function hintOf(error: ErrorObject): string {
  const parent = (error.parentSchema ?? {}) as Record<string, unknown>;
  if (typeof parent['x-hint'] === 'string') return parent['x-hint'];
  if (typeof parent.description === 'string') return parent.description;
  return 'see libs/spec/lab.schema.json';
}

function toProblem(error: ErrorObject, spec: unknown): Problem | null {
  const parent = (error.parentSchema ?? {}) as Record<string, unknown>;
  const properties = (parent.properties ?? {}) as Record<string, { description?: string }>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const name = String(error.params.additionalProperty);
      const at = `${error.instancePath}${pointer(name)}`;
      const meant = Object.keys(properties).find((p) => editDistance(p.toLowerCase(), name.toLowerCase()) <= 2);
      return {
        pointer: at,
        value: valueAt(spec, at),
        message: `unknown property "${name}"`,
        hint: `${meant ? `did you mean "${meant}"? ` : ''}allowed here: ${Object.keys(properties).join(', ')}`,
      };
    }
    case 'required': {
      const name = String(error.params.missingProperty);
      return {
        pointer: `${error.instancePath}${pointer(name)}`,
        value: undefined,
        message: `missing required property "${name}"`,
        hint: properties[name]?.description ?? `add "${name}"`,
      };
    }
    case 'pattern':
      return {
        pointer: error.instancePath,
        value: error.data,
        message: 'is not an allowed value for this field (it must match a safe pattern)',
        hint: hintOf(error),
      };
    case 'enum':
      return {
        pointer: error.instancePath,
        value: error.data,
        message: `must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
        hint: hintOf(error),
      };
    case 'if':
      // The branch that failed reports the real error.
      return null;
    default:
      return { pointer: error.instancePath, value: error.data, message: error.message ?? error.keyword, hint: hintOf(error) };
  }
}

/** Levenshtein distance: how many letters to add, drop or change to turn one word into the other. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    previous = row;
  }
  return previous[b.length];
}

/** Returns the problems ajv finds; an empty list means the document has the spec's shape. */
export function structuralProblems(spec: unknown): Problem[] {
  if (validateStructure(spec)) return [];
  const seen = new Set<string>();
  const problems: Problem[] = [];
  for (const error of validateStructure.errors ?? []) {
    const problem = toProblem(error, spec);
    if (!problem) continue;
    const key = `${problem.pointer}\n${problem.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(problem);
  }
  return problems;
}
