/**
 * Which claude-mem a checkout holds, read from its files (never from its version number, which is
 * only reported). Two axes of claude-mem's structure decide how leaksim drives it:
 *
 *   routes  '8.5'  the hooks call the legacy per-session routes (`POST /sessions/:id/init` starts
 *                  the generator); recognised by the absence of the ingest helpers below.
 *           '13'   the hooks call `/api/sessions/*` only, whose handlers go through the ingest
 *                  helpers (`services/worker/http/shared.ts`) and `ensureGeneratorRunning`.
 *   queue   'sqlite'  `pending_messages` read through `services/queue/SessionQueueProcessor.ts`
 *                     (claimed and deleted up to 11.x, claimed and confirmed from 12.x: which one
 *                     follows from the methods claude-mem calls on the store)
 *           'buffer'  the in-memory `services/worker/SessionMessageBuffer.ts` (13.4 onward)
 *           'array'   neither: before 8.x each in-memory session kept a `pendingMessages` array
 *
 * The era (the behaviour leaksim's expect files are written for) is the pair plus whether the
 * queue ends an idle generator (`IDLE_TIMEOUT_MS` in the queue's file), named in `eraOf`.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError } from '../../../src/input-error.ts';

export type LayoutName = '8.5' | '13';
export type QueueKind = 'sqlite' | 'buffer' | 'array';

export interface ClaudeMemCheckout {
  /** The checkout's real path (symbolic links resolved: Node loads modules by real path). */
  readonly root: string;
  readonly version: string;
  /** How the hooks reach the session manager (the routes axis above). */
  readonly layout: LayoutName;
  readonly queue: QueueKind;
}

/** Files every supported checkout has: the session manager and its routes. */
export const REQUIRED_FILES = ['src/services/worker/SessionManager.ts', 'src/services/worker/http/routes/SessionRoutes.ts'] as const;
export const ROUTES_FILE = REQUIRED_FILES[1];
export const INGEST_FILE = 'src/services/worker/http/shared.ts';
export const BUFFER_FILE = 'src/services/worker/SessionMessageBuffer.ts';
export const QUEUE_PROCESSOR_FILE = 'src/services/queue/SessionQueueProcessor.ts';

/** Files each layout needs beyond the required ones (kept for the tests and docs that name them). */
export const LAYOUT_FILES: Readonly<Record<LayoutName, readonly string[]>> = {
  '8.5': [...REQUIRED_FILES, QUEUE_PROCESSOR_FILE],
  '13': [...REQUIRED_FILES, INGEST_FILE],
};

/** One line saying which release and file did not fit, for an InputError. */
export function misfit(checkout: Pick<ClaudeMemCheckout, 'version' | 'root'>, file: string, problem: string): string {
  return `claude-mem ${checkout.version} (${checkout.root}): ${file}: ${problem}`;
}

/** Reads and checks a checkout; every problem is one `InputError` naming the release, file and what is missing. */
export function readCheckout(path: string, source = '--target'): ClaudeMemCheckout {
  const shown = `claude-mem checkout ${path}`;
  const absolute = resolve(path);
  if (!existsSync(absolute) || !statSync(absolute).isDirectory()) throw new InputError(source, 0, '', `${shown} is not a folder`);
  const root = realpathSync(absolute);
  const packageFile = join(root, 'package.json');
  if (!existsSync(packageFile)) throw new InputError(source, 0, '', `${shown} has no package.json`);
  let manifest: { name?: unknown; version?: unknown };
  try {
    manifest = JSON.parse(readFileSync(packageFile, 'utf8')) as typeof manifest;
  } catch (error) {
    throw new InputError(source, 0, '', `${shown}: package.json is not valid JSON (${(error as Error).message})`);
  }
  if (manifest.name !== 'claude-mem') throw new InputError(source, 0, '', `${shown}: package.json names ${JSON.stringify(manifest.name)}, expected "claude-mem"`);
  if (typeof manifest.version !== 'string') throw new InputError(source, 0, '', `${shown}: package.json has no version`);
  const version = manifest.version;
  const has = (file: string): boolean => existsSync(join(root, file));
  const absent = REQUIRED_FILES.filter((file) => !has(file));
  if (absent.length === REQUIRED_FILES.length) {
    throw new InputError(source, 0, '', `${shown}: claude-mem ${version} is not supported: it has no ${REQUIRED_FILES[1]} (leaksim runs releases with the HTTP session routes, 7.0.0 onward)`);
  }
  if (absent.length > 0) throw new InputError(source, 0, '', `${shown} (claude-mem ${version}) is incomplete: missing ${absent.join(', ')}`);
  const queue: QueueKind = has(BUFFER_FILE) ? 'buffer' : has(QUEUE_PROCESSOR_FILE) ? 'sqlite' : 'array';
  return { root, version, layout: has(INGEST_FILE) ? '13' : '8.5', queue };
}

/**
 * The behavioural era of a checkout, by structure: the name of its expect file
 * (scenarios/expect/claude-mem-<era>.json). docs/claude-mem.md describes each.
 */
export function eraOf(checkout: Pick<ClaudeMemCheckout, 'layout' | 'queue'>, generatorIdleTimeoutMs: number | undefined, finishedGeneratorAborted = true): string {
  if (checkout.queue === 'array') return 'memory-array';
  if (checkout.layout === '8.5' && generatorIdleTimeoutMs !== undefined) return 'idle-generators';
  // Before 8.5 a generator that ended with no pending work left its controller live: nothing aborts it.
  if (checkout.layout === '8.5') return finishedGeneratorAborted ? 'legacy-routes' : 'legacy-routes-unaborted';
  return checkout.queue === 'sqlite' ? 'ingest-sqlite' : 'ingest-buffer';
}
