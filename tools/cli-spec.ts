// The spec a CLI command names (a file of the caller's or an embedded scenario), loaded into a model.
import { existsSync, readFileSync } from 'fs';
import type { ProfileName } from '../libs/spec/profiles';
import { loadLab, specSource, type SpecChoice } from '../libs/spec/load';
import { fromCaller } from './cli-paths';

/** The model of a spec file or embedded scenario, the name reports call it by, and its warnings (null when none). */
export function loadModel(choice: SpecChoice, options: { profile?: ProfileName; name?: string; variant?: string }) {
  const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : undefined);
  const hint = 'give the path of a JSON lab spec, relative to the folder you run the command in';
  const { text, source } = specSource(choice, { read, locate: (path) => fromCaller(path), hint });
  return { ...loadLab(text, { ...options, source }), source };
}
