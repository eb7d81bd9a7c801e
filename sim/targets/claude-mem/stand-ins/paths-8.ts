/**
 * Stand-in for claude-mem 8.5.x's `src/shared/paths.ts`. The real module fixes its data directory
 * to `~/.claude-mem` when it loads (8.5.x has no environment override), and the routes read
 * `settings.json` from there. Here every path lives under the temporary folder leaksim created
 * for this process (`LEAKSIM_CLAUDE_MEM_DATA_DIR`), never under the user's home. Same names as
 * the real module; only the routes' `USER_SETTINGS_PATH` is read in a simulation.
 */
import { join } from 'node:path';

const dataDir = process.env.LEAKSIM_CLAUDE_MEM_DATA_DIR;
if (!dataDir) throw new Error('leaksim: the claude-mem data folder was not set before loading claude-mem');

export const DATA_DIR = dataDir;
export const CLAUDE_CONFIG_DIR = join(dataDir, 'claude-config');
export const ARCHIVES_DIR = join(dataDir, 'archives');
export const LOGS_DIR = join(dataDir, 'logs');
export const TRASH_DIR = join(dataDir, 'trash');
export const BACKUPS_DIR = join(dataDir, 'backups');
export const MODES_DIR = join(dataDir, 'modes');
export const USER_SETTINGS_PATH = join(dataDir, 'settings.json');
export const DB_PATH = join(dataDir, 'claude-mem.db');
export const VECTOR_DB_DIR = join(dataDir, 'vector-db');
export const CLAUDE_SETTINGS_PATH = join(CLAUDE_CONFIG_DIR, 'settings.json');
export const CLAUDE_COMMANDS_DIR = join(CLAUDE_CONFIG_DIR, 'commands');
export const CLAUDE_MD_PATH = join(CLAUDE_CONFIG_DIR, 'CLAUDE.md');
export const getProjectArchiveDir = (projectName: string): string => join(ARCHIVES_DIR, projectName);
export const getWorkerSocketPath = (sessionId: number): string => join(dataDir, `worker-${sessionId}.sock`);
