/** The command table: one line per command, loaded on demand so startup stays fast. */
import { registerCommand } from './main.ts';

// Each entry: registerCommand('name', async () => (await import('./name.ts')).nameCommand);
