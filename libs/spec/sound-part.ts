// The structurally sound part of a spec with structural problems: what the semantic checks can
// still look at, so one misspelt property does not hide every other mistake.
import type { Problem } from './problems';
import type { LabSpec } from './types';

/** What a set-aside element was called by the elements that refer to it. */
export type RefKind = 'subnets' | 'nodes' | 'containers' | 'backends' | 'linkEnds';

/** Elements left out of the semantic checks, as the resolver needs to know them. */
export interface SetAside {
  /** Names the set-aside elements define (a hypervisor: itself and its bridges; a link: its ends). */
  names: Record<RefKind, Set<string>>;
  /** Kinds with a set-aside element whose name is unusable: any unknown name of that kind may be it. */
  unnamed: Set<RefKind>;
}

export interface SoundPart {
  /** The spec without its broken parts, array slots kept empty so pointers stay valid; null when nothing can be checked. */
  spec: LabSpec | null;
  setAside: SetAside;
  /** Pointers of what was left out, for the report. */
  leftOut: string[];
}

export const nothingSetAside = (): SetAside => ({
  names: { subnets: new Set(), nodes: new Set(), containers: new Set(), backends: new Set(), linkEnds: new Set() },
  unnamed: new Set(),
});

const ALL_KINDS: RefKind[] = ['subnets', 'nodes', 'containers', 'backends', 'linkEnds'];

/** Array elements that can be left out while the rest is checked, innermost first, with the kind of name they define. */
const ELEMENTS: Array<{ at: RegExp; kind: RefKind | null }> = [
  { at: /^\/hypervisors\/\d+\/bridges\/\d+/, kind: 'nodes' },
  { at: /^\/subnets\/\d+/, kind: 'subnets' },
  { at: /^\/(hypervisors|switches|users)\/\d+/, kind: 'nodes' },
  { at: /^\/links\/\d+/, kind: 'linkEnds' },
  { at: /^\/containers\/\d+/, kind: 'containers' },
  { at: /^\/haproxy\/backends\/\d+/, kind: 'backends' },
  { at: /^\/(vrrp|vxlan)\/\d+/, kind: null },
  { at: /^\/haproxy\/(balancers|frontends)\/\d+/, kind: null },
];

/** Settings with a default and no semantic check of their own: a bad one is dropped. */
const SETTING = /^\/(title|\$schema|stp(\/[^/]+)?|haproxy\/(check(\/[^/]+)?|retries|timeouts(\/[^/]+)?))$/;

/** Optional sections nothing else refers to by name: a bad one is left out whole. */
const SECTION = /^\/(haproxy|vrrp|vxlan)(\/|$)/;

/** Optional collections others refer to: left out whole, every name of their kind may be missing. */
const COLLECTION: Record<string, RefKind[]> = { '/switches': ['nodes', 'linkEnds'], '/users': ['nodes', 'linkEnds'], '/links': ['linkEnds'], '/containers': ['containers'] };

const parse = (at: string) => at.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));

function parentAndKey(root: unknown, at: string): { parent: Record<string, unknown>; key: string } | null {
  const segments = parse(at);
  let node = root;
  for (const segment of segments.slice(0, -1)) {
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[segment] : undefined;
  }
  if (node === null || typeof node !== 'object') return null;
  return { parent: node as Record<string, unknown>, key: segments[segments.length - 1] };
}

/** Removes what a pointer points at; an array element leaves an empty slot, so later indices keep their pointers. */
function remove(root: unknown, at: string): unknown {
  const place = parentAndKey(root, at);
  if (!place) return undefined;
  const value = place.parent[place.key];
  delete place.parent[place.key];
  return value;
}

/**
 * Splits a spec with structural problems into what the semantic checks can still read and what
 * they must leave out. An element with a problem (a container, a link, a bridge…) is left out
 * whole and the names it defines are remembered, so references to it are not reported as
 * unknown; a bad timer is dropped (its default is checked instead); a problem in the lab's
 * name, subnets or hypervisors list, or a bad profile that every timer follows, stops here.
 */
export function soundPart(document: unknown, problems: Problem[]): SoundPart {
  const setAside = nothingSetAside();
  const leftOut: string[] = [];
  const fatal = { spec: null, setAside, leftOut: [''] };
  if (document === null || typeof document !== 'object' || Array.isArray(document)) return fatal;
  const spec = structuredClone(document) as Record<string, unknown>;
  const problemAt = new Set(problems.map((p) => p.pointer));
  const leave = (at: string, kind: RefKind | null) => {
    if (leftOut.some((done) => at === done || at.startsWith(`${done}/`))) return;
    leftOut.push(at);
    const element = remove(spec, at) as Record<string, unknown> | undefined;
    if (kind === null) return;
    const named = (name: unknown, nameAt: string, as: RefKind) => {
      if (typeof name === 'string' && !problemAt.has(nameAt)) setAside.names[as].add(name);
      else setAside.unnamed.add(as);
    };
    if (kind === 'linkEnds') {
      const ends = Array.isArray(element?.ends) ? element.ends : [];
      if (ends.length !== 2) setAside.unnamed.add('linkEnds');
      ends.forEach((end: unknown, j: number) => named(typeof end === 'string' ? end : (end as { node?: unknown } | null)?.node, `${at}/ends/${j}`, 'linkEnds'));
      return;
    }
    named(element?.name, `${at}/name`, kind);
    // A hypervisor left out takes its bridges along.
    if (at.startsWith('/hypervisors/') && Array.isArray(element?.bridges)) {
      element.bridges.forEach((b: { name?: unknown } | null, j: number) => named(b?.name, `${at}/bridges/${j}/name`, 'nodes'));
    }
  };
  for (const problem of problems) {
    const at = problem.pointer;
    const element = ELEMENTS.map((e) => ({ kind: e.kind, match: e.at.exec(at) })).find((e) => e.match);
    if (element) {
      leave(element.match![0], element.kind);
    } else if (SETTING.test(at)) {
      remove(spec, at);
    } else if (SECTION.test(at)) {
      leave(at.split('/').slice(0, 2).join('/'), null);
    } else if (/^\/(switches|users|links|containers)$/.test(at)) {
      leave(at, null);
      for (const kind of COLLECTION[at]) setAside.unnamed.add(kind);
    } else if (at === '/profile') {
      // Every VRRP timer check follows the profile: those groups wait for a valid one.
      remove(spec, at);
      leave('/vrrp', null);
    } else if (problem.message.startsWith('unknown property') && parse(at).length === 1) {
      // A misspelt top-level collection: whatever refers to it may be unknown now.
      remove(spec, at);
      leftOut.push(at);
      for (const kind of ALL_KINDS) setAside.unnamed.add(kind);
    } else {
      // The lab's name, its subnets or hypervisors as a whole: nothing sound to check.
      return fatal;
    }
  }
  return { spec: spec as unknown as LabSpec, setAside, leftOut };
}
