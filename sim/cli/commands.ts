/**
 * The command table: one line per command, each loaded on demand so that startup stays fast.
 * main.ts reads it; nothing here imports main.ts.
 */
import type { Command } from './output.ts';

export interface CommandEntry {
  /** One line for `leaksim --help`. */
  readonly summary: string;
  readonly load: () => Promise<Command>;
}

export const COMMANDS: ReadonlyMap<string, CommandEntry> = new Map<string, CommandEntry>([
  ['run', { summary: 'run one scenario against one target (built-in or your adapter) and check every invariant', load: async () => (await import('./run.ts')).runCommand }],
  ['check', { summary: 'the CI gate: every scenario against every target it expects a verdict for (--heap: the heap gates)', load: async () => (await import('./check.ts')).checkCommand }],
  ['merge', { summary: "join the report folders of a sharded check (--shard i/n) into one check's reports", load: async () => (await import('./merge.ts')).mergeCommand }],
  ['replay', { summary: 'run a recorded or imported traffic file against a target', load: async () => (await import('./replay.ts')).replayCommand }],
  ['import', { summary: 'turn Claude Code transcripts into a traffic file', load: async () => (await import('./import.ts')).importCommand }],
  ['record', { summary: 'record the hook traffic a claude-mem worker receives, through a proxy', load: async () => (await import('./record.ts')).recordCommand }],
  ['tune', { summary: 'compare retention settings: what each TTL and cap costs in memory and in lost context', load: async () => (await import('./tune.ts')).tuneCommand }],
  ['history', { summary: 'the leaks of every claude-mem release in a git clone, as a timeline; --bisect finds the commit that changed one', load: async () => (await import('./history.ts')).historyCommand }],
]);
