/**
 * The history cache: one small JSON file per run (a release's session path × scenario × seed),
 * named by a hash of everything the run's result depends on. A release whose session path did not
 * change since an earlier release, or a rerun, finds its runs here and costs no simulation.
 *
 * The key: the content hash of the checkout's session path (`sessionPathHash`), the scenario
 * file's bytes, the seed, and leaksim's own code (its src/ and sim/ files), so that a leaksim that
 * judges differently never reads an older leaksim's verdicts.
 *
 * Where: the folder the user names with --cache, or reports/history-cache. leaksim creates it with
 * a marker file and writes only into a folder that holds the marker (or is new or empty), as
 * report folders (sim/report/report-folder.ts); entries are written to a temporary name and renamed,
 * so two runs sharing a cache never read half an entry.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { InputError } from '../../src/input-error.ts';
import { PACKAGE_ROOT } from '../engine/package-root.ts';

export const DEFAULT_CACHE_DIR = 'reports/history-cache';
export const CACHE_MARKER_FILE = '.leaksim-history-cache';
const CACHE_MARKER_TEXT = 'leaksim history cache: written by leaksim; every file here can be removed, it is made again when needed.\n';
/** Bumped when the shape of an entry changes. */
const CACHE_FORMAT = 1;
/** An entry larger than this is not one of ours. */
const MAX_ENTRY_BYTES = 1_000_000;

/** Every file under `folder`, as paths relative to it with `/`, sorted (by code unit, the same on every machine). */
function filesUnder(folder: string, filter: (path: string) => boolean = () => true): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && filter(path)) found.push(relative(folder, path).split(sep).join('/'));
    }
  };
  if (existsSync(folder)) walk(folder);
  return found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function hashFiles(root: string, paths: readonly string[]): string {
  const hash = createHash('sha256');
  for (const path of paths) {
    const bytes = readFileSync(join(root, path));
    // Length-prefixed, so that no two different trees hash alike by moving bytes across a boundary.
    hash.update(`${path}\0${bytes.length}\0`);
    hash.update(bytes);
  }
  return hash.digest('hex');
}

/**
 * The content hash of what the claude-mem target loads from a checkout. Until the bridge can name
 * exactly the files it loads, this is every file of the checkout's src/ and its package.json: a
 * release that changed nothing there runs exactly as the one before it.
 */
export function sessionPathHash(checkoutRoot: string): string {
  const paths = [...(existsSync(join(checkoutRoot, 'package.json')) ? ['package.json'] : []), ...filesUnder(join(checkoutRoot, 'src')).map((path) => `src/${path}`)];
  return hashFiles(checkoutRoot, paths);
}

let leaksimHash: string | undefined;

/** leaksim's own code (src/ and sim/), hashed once per process. */
export function leaksimCodeHash(): string {
  if (leaksimHash === undefined) {
    const code = (path: string) => /\.(ts|mts|mjs|cjs|js|json)$/.test(path);
    const paths = [...filesUnder(join(PACKAGE_ROOT, 'src'), code).map((path) => `src/${path}`), ...filesUnder(join(PACKAGE_ROOT, 'sim'), code).map((path) => `sim/${path}`)];
    leaksimHash = hashFiles(PACKAGE_ROOT, paths);
  }
  return leaksimHash;
}

export interface RunKey {
  readonly sessionPath: string;
  /** sha256 of the scenario file's bytes. */
  readonly scenario: string;
  readonly seed: number;
}

export function scenarioHash(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function keyName(key: RunKey): string {
  return createHash('sha256').update(JSON.stringify({ format: CACHE_FORMAT, leaksim: leaksimCodeHash(), ...key })).digest('hex');
}

export class HistoryCache {
  readonly #dir: string;

  private constructor(dir: string) {
    this.#dir = dir;
  }

  /**
   * Opens (creating it when missing) the cache folder `dir`. Refused before any work: a path
   * that is a file or a symbolic link, or a non-empty folder without the cache's marker.
   */
  static open(dir: string): HistoryCache {
    const path = resolve(dir);
    const refuse = (problem: string) => new InputError('leaksim history', 0, '--cache', `${JSON.stringify(dir)} ${problem}`);
    if (dir.trim() === '') throw refuse('is empty: give a folder, e.g. reports/history-cache');
    let stat;
    try {
      stat = lstatSync(path);
    } catch {
      stat = undefined;
    }
    if (stat?.isSymbolicLink()) throw refuse('is a symbolic link: give the folder itself');
    if (stat && !stat.isDirectory()) throw refuse('is an existing file: the cache is a folder leaksim creates');
    if (stat && readdirSync(path).length > 0 && !existsSync(join(path, CACHE_MARKER_FILE))) {
      throw refuse(`is a folder leaksim did not create (it is not empty and has no ${CACHE_MARKER_FILE}): give a new folder`);
    }
    try {
      mkdirSync(path, { recursive: true });
      if (!existsSync(join(path, CACHE_MARKER_FILE))) writeFileSync(join(path, CACHE_MARKER_FILE), CACHE_MARKER_TEXT);
    } catch (error) {
      throw refuse(`cannot be created or written (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    return new HistoryCache(path);
  }

  get dir(): string {
    return this.#dir;
  }

  /** The stored value for `key`, or undefined (also for an entry that cannot be read: it is simply run again). */
  get<T>(key: RunKey): T | undefined {
    const file = join(this.#dir, `${keyName(key)}.json`);
    try {
      if (lstatSync(file).size > MAX_ENTRY_BYTES) return undefined;
      return (JSON.parse(readFileSync(file, 'utf8')) as { value: T }).value;
    } catch {
      return undefined;
    }
  }

  set(key: RunKey, value: unknown): void {
    const name = keyName(key);
    const temporary = join(this.#dir, `.${name}.${process.pid}.partial`);
    writeFileSync(temporary, `${JSON.stringify({ key, value })}\n`);
    renameSync(temporary, join(this.#dir, `${name}.json`));
  }
}
