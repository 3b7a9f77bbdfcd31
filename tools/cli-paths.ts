// Where the CLI's path arguments point, and how a command is told which rendered lab to use.
import { existsSync } from 'fs';
import { join, resolve } from 'path';

/**
 * The directory the user typed the command in. `npm run lab` runs the CLI from the workspace
 * root and leaves the caller's directory in INIT_CWD; run any other way (node tools/cli.ts,
 * a test spawning it), the CLI's own cwd is the caller's, and an inherited INIT_CWD is stale.
 */
export function callerDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.npm_lifecycle_event === 'lab' && env.INIT_CWD ? env.INIT_CWD : process.cwd();
}

/** A path the user typed, made absolute against their directory. */
export function fromCaller(path: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(callerDir(env), path);
}

/** Commands that act on a rendered lab: the first word after them may name it. */
const LAB_COMMANDS = [['check'], ['break'], ['capture'], ['twin', 'up'], ['twin', 'down'], ['twin', 'status'], ['twin', 'exec'], ['twin', 'fault']];

/**
 * Every command that acts on a rendered lab takes `--lab <folder>`; the folder may also come
 * right after the command (`twin exec out/curso u1 -- curl …`). Such a word names a path (it
 * has a '/') or a folder holding lab.json, which no node name, fault target or action does;
 * it is turned into `--lab <folder>` before yargs sees it.
 */
export function labWordAsOption(args: string[], dir: string = callerDir()): string[] {
  for (const command of LAB_COMMANDS) {
    if (!command.every((word, i) => args[i] === word)) continue;
    const word = args[command.length];
    const isLab = word !== undefined && !word.startsWith('-') && (word.includes('/') || existsSync(join(resolve(dir, word), 'lab.json')));
    return isLab ? [...command, '--lab', word, ...args.slice(command.length + 1)] : args;
  }
  return args;
}
