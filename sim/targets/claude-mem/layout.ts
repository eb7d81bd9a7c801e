/**
 * Which claude-mem a checkout holds, read from its package.json and its files. Two layouts are
 * supported, named by the first version leaksim was fitted to:
 *   8.5   SQLite queue claimed-and-deleted (`services/queue/SessionQueueProcessor.ts`), a generator
 *         started by the legacy `/sessions/:id/init` route, no idle end.
 *   13    in-memory queue (`services/worker/SessionMessageBuffer.ts`), a generator that ends after
 *         3 idle minutes, the session finalized when its generator exits.
 * The layout follows the files, not the version number, so a later release that keeps a layout's
 * files runs as that layout; the version is reported beside it.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError } from '../../../src/input-error.ts';

export type LayoutName = '8.5' | '13';

export interface ClaudeMemCheckout {
  /** The checkout's real path (symbolic links resolved: Node loads modules by real path). */
  readonly root: string;
  readonly version: string;
  readonly layout: LayoutName;
}

/** Files each layout needs, relative to the checkout. The first two are common to both. */
export const LAYOUT_FILES: Readonly<Record<LayoutName, readonly string[]>> = {
  '8.5': [
    'src/services/worker/SessionManager.ts',
    'src/services/worker/http/routes/SessionRoutes.ts',
    'src/services/queue/SessionQueueProcessor.ts',
    'src/services/worker/session/SessionCompletionHandler.ts',
    'src/services/worker/http/BaseRouteHandler.ts',
  ],
  '13': [
    'src/services/worker/SessionManager.ts',
    'src/services/worker/http/routes/SessionRoutes.ts',
    'src/services/worker/SessionMessageBuffer.ts',
    'src/services/worker/session/GeneratorExitHandler.ts',
    'src/services/worker/session/SessionCompletionHandler.ts',
    'src/services/worker/http/shared.ts',
    'src/services/worker/http/BaseRouteHandler.ts',
  ],
};

/** Reads and checks a checkout; every problem is one `InputError` naming what is missing. */
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
  const missing = (layout: LayoutName): string[] => LAYOUT_FILES[layout].filter((file) => !existsSync(join(root, file)));
  const byVersion: LayoutName | undefined = /^8\.5\./.test(version) ? '8.5' : /^13\./.test(version) ? '13' : undefined;
  const candidates: LayoutName[] = byVersion ? [byVersion] : ['13', '8.5'];
  for (const layout of candidates) if (missing(layout).length === 0) return { root, version, layout };
  const closest = candidates.reduce((best, layout) => (missing(layout).length < missing(best).length ? layout : best));
  const absent = missing(closest);
  if (!byVersion && absent.length === LAYOUT_FILES[closest].length) {
    throw new InputError(source, 0, '', `${shown}: claude-mem ${version} is not supported (leaksim runs the 8.5.x and 13.x layouts)`);
  }
  throw new InputError(source, 0, '', `${shown} (claude-mem ${version}, ${closest}.x layout) is incomplete: missing ${absent.join(', ')}`);
}
