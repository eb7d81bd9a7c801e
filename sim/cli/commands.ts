/** The command table: one line per command, loaded on demand so startup stays fast. */
import { registerCommand } from './main.ts';

registerCommand('run', async () => (await import('./run.ts')).runCommand, 'run one scenario against one target (built-in or your adapter) and check every invariant');
registerCommand('check', async () => (await import('./check.ts')).checkCommand, 'the CI gate: every scenario against every target it expects a verdict for (--heap: the heap gates)');
registerCommand('merge', async () => (await import('./merge.ts')).mergeCommand, "join the report folders of a sharded check (--shard i/n) into one check's reports");
registerCommand('replay', async () => (await import('./replay.ts')).replayCommand, 'run a recorded or imported traffic file against a target');
registerCommand('import', async () => (await import('./import.ts')).importCommand, 'turn Claude Code transcripts into a traffic file');
registerCommand('record', async () => (await import('./record.ts')).recordCommand, 'record the hook traffic a claude-mem worker receives, through a proxy');
registerCommand('tune', async () => (await import('./tune.ts')).tuneCommand, 'compare retention settings: what each TTL and cap costs in memory and in lost context');
