// `nx g lab:scenario`: spec → model → files, written through the Nx tree (so --dry-run is free).
import { logger, type Tree } from '@nx/devkit';
import { existsSync, readFileSync } from 'fs';
import { isAbsolute, join, relative } from 'path';
import { buildLab, specSource } from '../../libs/spec/load';
import { SpecError } from '../../libs/spec/problems';
import { renderLab } from '../../libs/render';
import { planRegeneration, planWrites, summaryTable } from '../../libs/render/regenerate';
import { isExecutable } from '../../libs/render/write';
import type { ScenarioGeneratorSchema } from './schema';

function readSpec(tree: Tree, spec: string | undefined): { text: string; source: string } {
  const locate = (path: string) => (isAbsolute(path) ? path : join(tree.root, path));
  const read = (absolute: string) => {
    const inTree = relative(tree.root, absolute);
    if (!inTree.startsWith('..') && tree.exists(inTree)) return tree.read(inTree, 'utf-8')!;
    return existsSync(absolute) ? readFileSync(absolute, 'utf8') : undefined;
  };
  return specSource(spec, read, 'pass a path relative to the workspace root, or leave --spec out for practica6', locate);
}

export async function scenarioGenerator(tree: Tree, options: ScenarioGeneratorSchema) {
  let model;
  try {
    const { text, source } = readSpec(tree, options.spec);
    model = buildLab(text, { source, name: options.name, profile: options.profile });
  } catch (error) {
    if (error instanceof SpecError) {
      // A readable list of problems, not a stack trace; nothing has been written.
      const clean = new Error(error.message);
      clean.stack = error.message;
      throw clean;
    }
    throw error;
  }
  const files = renderLab(model);
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
    logger.info(`${model.name}: ${Object.keys(files).length} files in ${dir}/ (profile ${model.profile}; STP root ${root})`);
    if (plan.conflicts.length > 0) {
      // Nx exits 0 unless something throws; the files are written by now, markers included.
      const message = `${plan.conflicts.length} file(s) have conflict markers to resolve: ${plan.conflicts.join(', ')}`;
      const error = new Error(message);
      error.stack = message;
      throw error;
    }
  };
}

export default scenarioGenerator;
