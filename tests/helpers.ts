// Shared test helpers: paths and quick access to the pipeline.
import { spawnSync } from 'child_process';
import { readFileSync } from 'fs';
import { join } from 'path';
import { resolveLab } from '../libs/model/resolve';
import type { LabModel } from '../libs/model/types';
import type { ProfileName } from '../libs/spec/profiles';
import { buildLab, readScenario } from '../libs/spec/load';
import type { LabSpec } from '../libs/spec/types';

export const root = join(__dirname, '..');

// uvu loads every suite into one process, and each suite that starts a lab registers an exit
// hook that takes it down even after a crash: more than Node's default of 10 listeners.
process.setMaxListeners(40);
export const fixtures = join(__dirname, 'fixtures');

export function practica6Spec(): LabSpec {
  return JSON.parse(readScenario('practica6')) as LabSpec;
}

export function practica6(profile?: ProfileName): LabModel {
  return buildLab(readScenario('practica6'), { source: 'practica6', profile });
}

export function fixtureModel(name: string, profile?: ProfileName): LabModel {
  return buildLab(readFileSync(join(fixtures, `${name}.json`), 'utf8'), { source: name, profile });
}

export function modelOf(spec: LabSpec): LabModel {
  return resolveLab(spec, { source: spec.name });
}

/** The argv that runs `npm run lab -- <args>` without npm (for spawn, or inside a namespace). */
export const labCliArgv = (...args: string[]) => [process.execPath, '-r', './tools/register.js', 'tools/cli.ts', ...args];

/** Runs the CLI from the workspace root and waits for it; `timeoutMs` bounds commands that run a lab. */
export function labCli(args: string[], timeoutMs?: number) {
  const [node, ...rest] = labCliArgv(...args);
  return spawnSync(node, rest, { cwd: root, encoding: 'utf8', timeout: timeoutMs });
}

/** Golden files are rewritten only when asked: UPDATE_GOLDEN=1 npm test. */
export const updateGolden = process.env.UPDATE_GOLDEN === '1';
