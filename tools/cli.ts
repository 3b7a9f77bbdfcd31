// `npm run lab -- <command>`: the same pipeline as `nx g lab:scenario`, for scripts and later tools.
import { existsSync, readFileSync } from 'fs';
import { join, resolve } from 'path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { ProfileName } from '../libs/spec/profiles';
import { SpecError } from '../libs/spec/problems';
import { buildLab, defaultScenario, readScenario } from '../libs/spec/load';
import { renderLab } from '../libs/render';
import { writeLab } from '../libs/render/write';

const workspaceRoot = resolve(__dirname, '..');

function loadModel(spec: string | undefined, options: { profile?: ProfileName; name?: string }) {
  if (!spec) return buildLab(readScenario(defaultScenario), { ...options, source: `${defaultScenario} (embedded)` });
  if (!existsSync(spec)) {
    throw new SpecError(spec, [{ pointer: '', value: spec, message: 'spec file not found', hint: 'give the path of a JSON lab spec' }]);
  }
  return buildLab(readFileSync(spec, 'utf8'), { ...options, source: spec });
}

function fail(error: unknown): never {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(error instanceof SpecError ? 1 : 2);
}

const profileOption = { choices: ['seed', 'fast'] as const, describe: 'timer preset (default: the spec\'s, else seed)' };

void yargs(hideBin(process.argv))
  .scriptName('lab')
  .strict()
  .command(
    'validate [spec]',
    'validate a lab spec and print a summary of the resolved lab',
    (y) => y.positional('spec', { type: 'string', describe: 'spec file (default: embedded practica6)' }).option('profile', profileOption),
    (argv) => {
      try {
        const model = loadModel(argv.spec, { profile: argv.profile });
        const tree = model.spanningTree;
        process.stdout.write(
          [
            `${argv.spec ?? defaultScenario}: valid (lab ${model.name}, profile ${model.profile})`,
            `  ${model.vms.length} VMs, ${model.bridges.length} bridges, ${model.links.length} links, ${model.containers.length} containers`,
            `  STP root: ${tree.domains.map((d) => `${d.root} (${d.rootId})`).join(', ') || 'none'}`,
            `  blocked ports: ${tree.blocked.map((p) => `${p.bridge}/${p.ifname}`).join(', ') || 'none'}`,
            '',
          ].join('\n'),
        );
      } catch (error) {
        fail(error);
      }
    },
  )
  .command(
    'render [spec]',
    'render a lab into <out-dir>/<name>/',
    (y) =>
      y
        .positional('spec', { type: 'string', describe: 'spec file (default: embedded practica6)' })
        .option('profile', profileOption)
        .option('name', { type: 'string', describe: 'lab name and folder (default: the spec\'s)' })
        .option('out-dir', { type: 'string', default: join(workspaceRoot, 'out'), describe: 'parent folder of the lab folder' }),
    (argv) => {
      try {
        const model = loadModel(argv.spec, { profile: argv.profile, name: argv.name });
        const files = renderLab(model);
        const dir = join(argv.outDir, model.name);
        writeLab(files, dir);
        process.stdout.write(`${model.name}: ${Object.keys(files).length} files in ${dir}/\n`);
      } catch (error) {
        fail(error);
      }
    },
  )
  .demandCommand(1, 'name a command: validate or render')
  .help()
  .parse();
