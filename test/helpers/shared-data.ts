/**
 * Data that lives beside the repository, not in it: ../shared (real Claude Code transcripts,
 * third-party checkouts such as claude-mem). CI has it; a fresh clone does not. A test that reads
 * it asks here first and, when it is missing, skips with one line saying what would enable it:
 *
 *   const transcripts = sharedData('data/claude-code-transcripts', 'the real-transcript import tests');
 *   describe.skipIf(!transcripts.available)('the shared real transcripts', () => { ... });
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** ../shared, seen from the repository root. */
export const SHARED_DIR = fileURLToPath(new URL('../../../shared/', import.meta.url));

export interface SharedData {
  /** Absolute path of the data (whether or not it exists). */
  readonly path: string;
  readonly available: boolean;
}

export function sharedData(relativePath: string, whatNeedsIt: string): SharedData {
  const path = join(SHARED_DIR, relativePath);
  const available = existsSync(path);
  if (!available) console.warn(`skipped: ${whatNeedsIt} need ${path} (the workspace's ../shared, present in CI)`);
  return { path, available };
}
