/**
 * The `leaksim` command line: a thin shell. Each command is a function in this folder that
 * takes its arguments and an output sink and returns an exit code; tests call them directly.
 * Exit codes: 0 all as expected, 1 a gate failed, 2 bad input (one line on stderr, no stack).
 */
import { InputError } from '../../src/input-error.ts';
import type { Command, Output } from './output.ts';
import { processOutput } from './output.ts';

const COMMANDS: Record<string, () => Promise<Command>> = {};

export function registerCommand(name: string, load: () => Promise<Command>): void {
  COMMANDS[name] = load;
}

const USAGE = `usage: leaksim <command> [options]

commands:
${'{commands}'}

targets (--target of run, check, replay): reference, baseline, twin, flaw:<name>, an adapter
module path, or claude-mem:<path> (claude-mem's own session manager from a checkout, see
docs/claude-mem.md)

Run 'leaksim <command> --help' for a command's options.`;

export async function main(argv: readonly string[], output: Output = processOutput()): Promise<number> {
  await import('./commands.ts');
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    output.out(USAGE.replace('{commands}', Object.keys(COMMANDS).map((command) => `  ${command}`).join('\n')));
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
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
