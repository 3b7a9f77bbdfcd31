// `nx g lab:scenario`: spec → model → files, written through the Nx tree (so --dry-run is free).
import { logger, type Tree } from '@nx/devkit';
import { existsSync, readFileSync } from 'fs';
import { isAbsolute, join, relative } from 'path';
import { loadLab, specSource, type SpecChoice } from '../../libs/spec/load';
import { SpecError } from '../../libs/spec/problems';
import { renderLab } from '../../libs/render';
import { fullStage, isStage, stages } from '../../libs/model/stage';
import { planRegeneration, planWrites, summaryTable } from '../../libs/render/regenerate';
import { isExecutable } from '../../libs/render/write';
import type { ScenarioGeneratorSchema } from './schema';

function readSpec(tree: Tree, choice: SpecChoice): { text: string; source: string } {
  const locate = (path: string) => (isAbsolute(path) ? path : join(tree.root, path));
  const read = (absolute: string) => {
    const inTree = relative(tree.root, absolute);
    if (!inTree.startsWith('..') && tree.exists(inTree)) return tree.read(inTree, 'utf-8')!;
    return existsSync(absolute) ? readFileSync(absolute, 'utf8') : undefined;
  };
  return specSource(choice, { read, locate, hint: 'pass a path relative to the workspace root, or leave --spec out for an embedded scenario' });
}

/** Conflict markers left by a regeneration: the user's to resolve. */
export class ConflictError extends Error {}

/** Renders the lab; a bad spec throws a SpecError before anything is written to the tree. */
export async function scenarioGenerator(tree: Tree, options: ScenarioGeneratorSchema) {
  const stage = options.stage ?? fullStage;
  if (!isStage(stage)) throw new SpecError('--stage', [{ pointer: '', value: stage, message: 'unknown stage', hint: `stages: ${stages.join(', ')} (default ${fullStage}, the whole lab)` }]);
  const { text, source } = readSpec(tree, { spec: options.spec, scenario: options.scenario });
  const { model, warningReport } = loadLab(text, { source, name: options.name, profile: options.profile, variant: options.variant });
  if (warningReport) logger.warn(warningReport);
  const files = renderLab(model, { stage, solutions: options.solutions });
  const dir = join(options.outDir ?? 'out', model.name);
  // Hand edits survive: each file is replaced, kept, merged or flagged (see regenerate.ts).
  const plan = planRegeneration(files, (path) => tree.read(join(dir, path), 'utf-8'), { force: options.force });
  const { write, remove } = planWrites(plan);
  for (const [path, content] of Object.entries(write)) {
    tree.write(join(dir, path), content, isExecutable(content) ? { mode: 0o755 } : undefined);
  }
  for (const path of remove) tree.delete(join(dir, path));
  // Printed before Nx writes, so --dry-run shows it too.
  logger.info(summaryTable(plan));
  const root = model.spanningTree.domains.map((d) => d.root).join(', ');
  return () => {
    logger.info(`${model.name}: ${Object.keys(files).length} files in ${dir}/ (profile ${model.profile}; ${model.variant === undefined ? '' : `variant ${model.variant}; `}${stage === fullStage ? '' : `stage ${stage}; `}STP root ${root})`);
    // The files are written by now, markers included.
    if (plan.conflicts.length > 0) throw new ConflictError(`${plan.conflicts.length} file(s) have conflict markers to resolve: ${plan.conflicts.join(', ')}`);
  };
}

/**
 * A user's mistake ends the run with our report and exit status 1. Thrown, Nx would print it as
 * its own error and add "Pass --verbose to see the stacktrace." (a stack that says nothing here).
 */
function exitForUserError(error: unknown): never {
  if (!(error instanceof SpecError || error instanceof ConflictError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}

/** What `nx g lab:scenario` runs (generators.json names this module's default export). */
export default async function nxScenarioGenerator(tree: Tree, options: ScenarioGeneratorSchema) {
  try {
    const afterWrite = await scenarioGenerator(tree, options);
    return () => {
      try {
        afterWrite();
      } catch (error) {
        exitForUserError(error);
      }
    };
  } catch (error) {
    exitForUserError(error);
  }
}
