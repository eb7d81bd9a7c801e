/**
 * The `leaksim` command line: a thin shell. Each command is a function in this folder that
 * takes its arguments and an output sink and returns an exit code; tests call them directly.
 * Exit codes: 0 all as expected, 1 a gate failed, 2 bad input (one line on stderr, no stack).
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../engine/package-root.ts';
import { InputError } from '../../src/input-error.ts';
import { InterruptedError } from '../runs/pool/interrupted.ts';
import { releaseReportLocks } from '../report/report-folder.ts';
import { type Command, type Output, processOutput } from './output.ts';
import { COMMANDS, type CommandEntry } from './commands.ts';

/** The installed package's version (package.json travels with the sources). */
export const VERSION: string = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

function usage(): string {
  const width = Math.max(...[...COMMANDS.keys()].map((name) => name.length));
  const lines = [...COMMANDS].map(([name, entry]) => `  ${name.padEnd(width)}  ${entry.summary}`);
  return `usage: leaksim <command> [options]

commands:
${lines.join('\n')}

targets (--target of run, check, replay): reference, baseline, twin, flaw:<name>, an adapter
module path, or claude-mem:<path> (claude-mem's own session manager from a checkout, see
docs/claude-mem.md)

Run 'leaksim <command> --help' for a command's options; 'leaksim --version' prints the version.`;
}

/** Runs one command line; `commands` is the table to look commands up in (tests add their own). */
export async function main(argv: readonly string[], output: Output = processOutput(), commands: ReadonlyMap<string, CommandEntry> = COMMANDS): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    output.out(usage());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    output.out(VERSION);
    return 0;
  }
  const load = commands.get(name)?.load;
  if (!load) {
    output.err(`leaksim: unknown command '${name}' (try 'leaksim --help')`);
    return 2;
  }
  try {
    return await handled(name, async () => (await load())(rest, output), output);
  } finally {
    // A report folder's lock lasts as long as its command (sim/report/report-folder.ts).
    releaseReportLocks();
  }
}

async function handled(name: string, run: () => Promise<number>, output: Output): Promise<number> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof InputError) {
      output.err(errorLine(error.message));
      return 2;
    }
    if (error instanceof InterruptedError) {
      output.err(`leaksim ${name}: ${error.message}; every check worker was stopped, no report was written and the previous report folder is kept`);
      return 128 + (constants.signals[error.signal] ?? 0);
    }
    throw error;
  }
}

/** One line on stderr: "leaksim: <message>", without doubling a prefix the message already has ("leaksim run: ..."). */
export function errorLine(message: string): string {
  const line = message.replace(/\s*\n\s*/g, ' ');
  return /^leaksim\b/.test(line) ? line : `leaksim: ${line}`;
}
