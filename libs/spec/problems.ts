// A problem found in a spec: where (JSON pointer), what (the offending value), why, and what to do.

export interface Problem {
  pointer: string;
  value: unknown;
  message: string;
  hint: string;
}

export class SpecError extends Error {
  constructor(
    readonly source: string,
    readonly problems: Problem[],
  ) {
    super(formatProblems(source, problems));
    this.name = 'SpecError';
  }
}

function showValue(value: unknown): string {
  if (value === undefined) return '(missing)';
  const text = JSON.stringify(value);
  return text.length > 70 ? `${text.slice(0, 67)}...` : text;
}

export function formatProblems(source: string, problems: Problem[]): string {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  const lines = [`${source}: ${count}`];
  for (const p of problems) {
    lines.push(`  ${p.pointer || '/'} = ${showValue(p.value)}`);
    lines.push(`    ${p.message}`);
    lines.push(`    hint: ${p.hint}`);
  }
  return lines.join('\n');
}

/** Escapes one JSON pointer segment (RFC 6901). */
export function pointerSegment(segment: string | number): string {
  return String(segment).replace(/~/g, '~0').replace(/\//g, '~1');
}

export function pointer(...segments: Array<string | number>): string {
  return segments.map((s) => `/${pointerSegment(s)}`).join('');
}
