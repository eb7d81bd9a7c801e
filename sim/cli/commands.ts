/** The command table: one line per command, loaded on demand so startup stays fast. */
import { registerCommand } from './main.ts';

registerCommand('run', async () => (await import('./run.ts')).runCommand);
registerCommand('check', async () => (await import('./check.ts')).checkCommand);
registerCommand('replay', async () => (await import('./replay.ts')).replayCommand);
registerCommand('import', async () => (await import('./import.ts')).importCommand);
registerCommand('record', async () => (await import('./record.ts')).recordCommand);
