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
    /** The parsed spec, when there is one: pointers through its named elements show their names. */
    readonly document?: unknown,
    /** Said after the problems: what could not be checked yet. */
    readonly note?: string,
  ) {
    super(formatProblems(source, problems, { document, note }));
    this.name = 'SpecError';
  }
}

function showValue(value: unknown): string {
  if (value === undefined) return '(missing)';
  const text = JSON.stringify(value);
  return text.length > 70 ? `${text.slice(0, 67)}...` : text;
}

/** `source: N problems` (or warnings), then each with its pointer, value, why and hint. */
export function formatProblems(source: string, problems: Problem[], options: { document?: unknown; kind?: 'problem' | 'warning'; note?: string } = {}): string {
  const kind = options.kind ?? 'problem';
  const count = problems.length === 1 ? `1 ${kind}` : `${problems.length} ${kind}s`;
  const lines = [`${source}: ${count}`];
  for (const p of problems) {
    lines.push(`  ${namedPointer(options.document, p.pointer) || '/'} = ${showValue(p.value)}`);
    lines.push(`    ${p.message}`);
    lines.push(`    hint: ${p.hint}`);
  }
  if (options.note) lines.push(`  ${options.note}`);
  return lines.join('\n');
}

/** Escapes one JSON pointer segment (RFC 6901). */
export function pointerSegment(segment: string | number): string {
  return String(segment).replace(/~/g, '~0').replace(/\//g, '~1');
}

export function pointer(...segments: Array<string | number>): string {
  return segments.map((s) => `/${pointerSegment(s)}`).join('');
}

const unescapeSegment = (segment: string) => segment.replace(/~1/g, '/').replace(/~0/g, '~');

/** The value a JSON pointer points at; undefined when there is none. */
export function valueAt(root: unknown, at: string): unknown {
  let node: unknown = root;
  for (const raw of at.split('/').slice(1)) {
    node = node === null || typeof node !== 'object' ? undefined : (node as Record<string, unknown>)[unescapeSegment(raw)];
  }
  return node;
}

/** Names worth showing beside an index: what the schema allows for names, never a hostile string. */
const SHOWN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/** What people call an array element: its name, its container (VRRP members, servers) or its ends (links). */
function elementName(element: unknown): string | null {
  if (element === null || typeof element !== 'object') return null;
  const e = element as { name?: unknown; container?: unknown; ends?: unknown };
  let name: unknown = e.name ?? e.container;
  if (name === undefined && Array.isArray(e.ends)) {
    const nodes = e.ends.map((end: unknown) => (typeof end === 'string' ? end : (end as { node?: unknown } | null)?.node));
    name = nodes.every((n) => typeof n === 'string') ? nodes.join(':') : undefined;
  }
  return typeof name === 'string' && SHOWN_NAME.test(name) ? name : null;
}

/**
 * A pointer for people: `/containers/3/nics/0/address` becomes `/containers/3 (web2)/nics/0/address`,
 * so nobody has to count. A pointer that ends at the name itself (`/containers/3/name`) is left
 * as it is: the value printed beside it is the name.
 */
export function namedPointer(document: unknown, at: string): string {
  if (document === undefined || at === '') return at;
  const segments = at.split('/').slice(1);
  let node: unknown = document;
  let named = '';
  segments.forEach((raw, i) => {
    const parent = node;
    node = parent === null || typeof parent !== 'object' ? undefined : (parent as Record<string, unknown>)[unescapeSegment(raw)];
    named += `/${raw}`;
    if (!Array.isArray(parent)) return;
    const name = elementName(node);
    const rest = segments.slice(i + 1);
    const endsAtName = rest.length === 1 && (rest[0] === 'name' || rest[0] === 'container');
    if (name !== null && !endsAtName) named += ` (${name})`;
  });
  return named;
}
