/**
 * The `leaksim` command line: a thin shell. Each command is a function in this folder that
 * takes its arguments and an output sink and returns an exit code; tests call them directly.
 * Exit codes: 0 all as expected, 1 a gate failed, 2 bad input (one line on stderr, no stack).
 */
import { readFileSync } from 'node:fs';
import { InputError } from '../../src/input-error.ts';
import type { Command, Output } from './output.ts';
import { processOutput } from './output.ts';

interface CommandEntry {
  /** One line for `leaksim --help`. */
  readonly summary: string;
  readonly load: () => Promise<Command>;
}

const COMMANDS = new Map<string, CommandEntry>();

export function registerCommand(name: string, load: () => Promise<Command>, summary = ''): void {
  COMMANDS.set(name, { summary, load });
}

/** The installed package's version (package.json travels with the sources). */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

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

export async function main(argv: readonly string[], output: Output = processOutput()): Promise<number> {
  await import('./commands.ts');
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    output.out(usage());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    output.out(VERSION);
    return 0;
  }
  const load = COMMANDS.get(name)?.load;
  if (!load) {
    output.err(`leaksim: unknown command '${name}' (try 'leaksim --help')`);
    return 2;
  }
  try {
    const command = await load();
    return await command(rest, output);
  } catch (error) {
    if (error instanceof InputError) {
      output.err(errorLine(error.message));
      return 2;
    }
    throw error;
  }
}

/** One line on stderr: "leaksim: <message>", without doubling a prefix the message already has ("leaksim run: ..."). */
export function errorLine(message: string): string {
  const line = message.replace(/\s*\n\s*/g, ' ');
  return /^leaksim\b/.test(line) ? line : `leaksim: ${line}`;
}
