/**
 * Report folders that never destroy anything leaksim did not write.
 *
 * Every report folder holds a marker file, `.leaksim-report`, with a fixed text. A destination is
 * replaced only when it is missing, empty, or holds that marker; anything else (an existing file,
 * a folder of someone else's files, `.`, `..`, a parent of the working directory or of the
 * repository, `reports/` itself, a symbolic link) is refused with one line before any work starts.
 * The commands call `checkReportFolder` first (the pre-flight) and `writeReportFolder` at the end,
 * which checks again: the folder may have changed while the simulation ran.
 *
 * Writing: the files go into a fresh staging folder beside the destination (mkdtemp: a name no one
 * else holds), an existing report folder is moved aside, the staging folder renamed into place,
 * and only then the old report removed. A failure at any step leaves the old report as it was. A
 * kill between the two renames leaves the old report aside (`.name.old-*`): the next write (and
 * the next pre-flight) renames it back before anything else, and removes staging leftovers.
 *
 * The marker lists the files leaksim wrote; a file in the folder that it does not list is a user's,
 * and the folder is then refused, never replaced with the file in it.
 */
import { accessSync, chmodSync, constants, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { InputError } from '../../src/input-error.ts';
import { PACKAGE_ROOT } from '../engine/package-root.ts';

export const REPORT_MARKER_FILE = '.leaksim-report';
export const REPORT_MARKER_TEXT = 'leaksim report folder: written by leaksim, replaced whole by the next report written here.\n';


/** Where a refusal is reported: the command and the flag that named the folder. */
export interface Destination {
  readonly command: string;
  readonly flag: string;
}

/** True when `ancestor` is `path` or a folder above it. */
function isSameOrAbove(ancestor: string, path: string): boolean {
  const rel = relative(ancestor, path);
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep) && !/^[a-zA-Z]:/.test(rel));
}

function refuse(where: Destination, dir: string, problem: string): InputError {
  return new InputError(where.command, 0, where.flag, `${JSON.stringify(dir)} ${problem}`);
}

/** The marker's text: the fixed line, then the files leaksim wrote into the folder, one a line (what it may replace). */
function markerText(files: readonly string[]): string {
  return `${REPORT_MARKER_TEXT}${MANIFEST_HEADING}${[...files].sort().map((name) => `${name}\n`).join('')}`;
}

const MANIFEST_HEADING = 'files written:\n';

/** The marker read back: undefined when missing or not leaksim's; the file list when it has one (older markers have none). */
function readMarker(path: string): { files: Set<string> | undefined } | undefined {
  let text: string;
  try {
    text = readFileSync(join(path, REPORT_MARKER_FILE), 'utf8');
  } catch {
    return undefined;
  }
  if (text === REPORT_MARKER_TEXT) return { files: undefined };
  if (!text.startsWith(REPORT_MARKER_TEXT + MANIFEST_HEADING)) return undefined;
  return { files: new Set(text.slice(REPORT_MARKER_TEXT.length + MANIFEST_HEADING.length).split('\n').filter((line) => line !== '')) };
}

function hasMarker(path: string): boolean {
  return readMarker(path) !== undefined;
}

/** Files (relative paths, folders as "name/") under `path` that its marker does not list: a user's, never to be deleted. */
function filesNotWritten(path: string): string[] {
  const marker = readMarker(path);
  if (!marker?.files) return [];
  const listed = marker.files;
  const strangers: string[] = [];
  const walk = (folder: string, prefix: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const name = `${prefix}${entry.name}`;
      if (name === REPORT_MARKER_FILE) continue;
      if (entry.isDirectory() && !entry.isSymbolicLink()) {
        if (![...listed].some((file) => file.startsWith(`${name}/`))) strangers.push(`${name}/`);
        else walk(join(folder, entry.name), `${name}/`);
      } else if (!listed.has(name)) strangers.push(name);
    }
  };
  walk(path, '');
  return strangers;
}

/**
 * What a killed run left beside `path`: a staging folder (`.name.partial-*`), or the old report
 * moved aside (`.name.old-*`) with no new one renamed into place yet. The old report comes back
 * when `path` is missing; every other leftover that holds only leaksim's files is removed.
 */
export function recoverLeftovers(path: string): void {
  const parent = dirname(path);
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  const prefix = `.${basename(path)}.`;
  const leftovers = names.filter((name) => name.startsWith(prefix) && /^(partial|old)-[A-Za-z0-9]{6}$/.test(name.slice(prefix.length)));
  for (const name of leftovers.filter((leftover) => leftover.startsWith(`${prefix}old-`))) {
    const aside = join(parent, name);
    if (!existsSync(path) && hasMarker(aside)) renameSync(aside, path);
  }
  for (const name of leftovers) {
    const leftover = join(parent, name);
    if (!existsSync(leftover)) continue;
    // Only what is leaksim's: a marked folder, or a staging folder still empty.
    if (hasMarker(leftover) || readdirSync(leftover).length === 0) rmSync(leftover, { recursive: true, force: true });
  }
}

/**
 * The pre-flight: throws an InputError when `dir` must not be written (see the file comment), or
 * cannot be (a file in the way, a folder that is not writable). Returns the absolute path.
 */
export function checkReportFolder(dir: string, where: Destination): string {
  if (dir.trim() === '') throw refuse(where, dir, 'is empty: give a folder, e.g. reports/my-run');
  const path = resolve(dir);
  if (!isSameOrAbove(path, process.cwd()) && !isSameOrAbove(path, PACKAGE_ROOT)) recoverLeftovers(path);
  if (isSameOrAbove(path, process.cwd())) throw refuse(where, dir, 'is the working directory or a folder above it: give a folder of its own, e.g. reports/my-run');
  if (isSameOrAbove(path, PACKAGE_ROOT)) throw refuse(where, dir, 'is the leaksim repository or a folder above it: give a folder of its own, e.g. reports/my-run');
  if (path === join(PACKAGE_ROOT, 'reports') || path === resolve('reports')) {
    throw refuse(where, dir, 'is the reports folder itself (it holds the committed baselines): give a folder inside it, e.g. reports/my-run');
  }
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    stat = undefined;
  }
  if (Buffer.byteLength(basename(path)) > MAX_FOLDER_NAME_BYTES) {
    throw refuse(where, dir, `has a name of ${Buffer.byteLength(basename(path))} bytes, longer than the ${MAX_FOLDER_NAME_BYTES} a report folder may have (MAX_FOLDER_NAME_BYTES: room for leaksim's staging suffix within the file system's 255)`);
  }
  if (stat) {
    if (stat.isSymbolicLink()) throw refuse(where, dir, 'is a symbolic link: give the folder itself');
    if (!stat.isDirectory()) throw refuse(where, dir, 'is an existing file: leaksim writes reports only into folders it created');
    if (readdirSync(path).length > 0 && !hasMarker(path)) {
      throw refuse(where, dir, `is a folder leaksim did not write (it is not empty and has no ${REPORT_MARKER_FILE}): give a new folder, or remove it yourself if it is an old report`);
    }
    const strangers = filesNotWritten(path);
    if (strangers.length > 0) {
      throw refuse(where, dir, `holds ${strangers.length === 1 ? 'a file' : `${strangers.length} files`} leaksim did not write (${strangers.slice(0, 3).join(', ')}${strangers.length > 3 ? ', …' : ''}): move ${strangers.length === 1 ? 'it' : 'them'} out of the report folder, which the next report replaces whole`);
    }
  }
  // Whether it can be written: the nearest folder that exists must be a writable folder.
  let existing = stat ? dirname(path) : path;
  while (!existsSync(existing)) existing = dirname(existing);
  if (!statSync(existing).isDirectory()) throw refuse(where, dir, `cannot be created: ${existing} is a file`);
  try {
    accessSync(existing, constants.W_OK);
  } catch {
    throw refuse(where, dir, `cannot be written: ${existing} is not writable`);
  }
  // Permissions can say yes where the file system says no (/proc, a read-only mount): try it, now,
  // rather than after the whole run.
  try {
    rmSync(mkdtempSync(join(existing, '.leaksim-probe-')), { recursive: true });
  } catch (error) {
    throw refuse(where, dir, `cannot be written: a folder cannot be made in ${existing} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return path;
}

/** A report folder's own name: the file system allows 255 bytes, and staging adds `.name.partial-XXXXXX`. */
export const MAX_FOLDER_NAME_BYTES = 200;

/**
 * Writes `files` (relative path → text) as the folder `dir`, with the marker, replacing a report
 * folder leaksim wrote before. Checks the destination again first.
 */
export function writeReportFolder(dir: string, files: Readonly<Record<string, string>>, where: Destination): void {
  const path = resolve(dir);
  recoverLeftovers(path);
  checkReportFolder(dir, where);
  const parent = dirname(path);
  mkdirSync(parent, { recursive: true });
  const staging = mkdtempSync(join(parent, `.${basename(path)}.partial-`));
  let aside: string | undefined;
  try {
    // mkdtemp makes the folder private (0700); a report is for reading, as any folder mkdir makes (umask applies).
    chmodSync(staging, 0o777 & ~process.umask());
    // The marker first: a staging folder killed half-way is recognisably leaksim's, and removed by the next run.
    writeFileSync(join(staging, REPORT_MARKER_FILE), markerText(Object.keys(files)));
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(staging, name)), { recursive: true });
      writeFileSync(join(staging, name), text);
    }
    if (existsSync(path)) {
      aside = mkdtempSync(join(parent, `.${basename(path)}.old-`));
      renameSync(path, aside); // onto an empty folder: allowed, and atomic
    }
    renameSync(staging, path);
  } catch (error) {
    if (aside !== undefined && !existsSync(path)) renameSync(aside, path);
    rmSync(staging, { recursive: true, force: true });
    if (aside !== undefined && existsSync(aside) && readdirSync(aside).length === 0) rmSync(aside, { recursive: true });
    // A disk that filled up or a folder made read-only during the run: one line, the old report kept.
    const code = (error as NodeJS.ErrnoException).code;
    if (code) throw refuse(where, dir, `could not be written (${code}); nothing was replaced`);
    throw error;
  }
  // The old folder held the marker or nothing (checked above): it is leaksim's to remove.
  if (aside !== undefined) rmSync(aside, { recursive: true, force: true });
}

/**
 * One run per report folder at a time: a lock file named after the folder's absolute path, in the
 * system's temporary folder (nothing is added beside the user's folders), holding the owner's pid.
 * A second run into the same --out while the first is alive refuses in one line; a lock whose
 * process is gone (killed) is taken over. Locks are released when the command ends (main) or the
 * process exits.
 */
const heldLocks = new Set<string>();

export function lockReportFolder(dir: string, where: Destination): void {
  const file = lockFile(resolve(dir));
  if (heldLocks.has(file)) throw refuse(where, dir, 'is being written by another command in this process: one run per report folder at a time');
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      heldLocks.add(file);
      // One exit listener while any lock is held (released with the last lock, so a process that
      // runs many commands does not pile them up).
      if (heldLocks.size === 1) process.once('exit', releaseReportLocks);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return; // no lock possible (a read-only /tmp): run unlocked rather than not at all
    }
    const owner = Number(readFileSync(file, 'utf8').trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
      throw refuse(where, dir, `is being written by another leaksim run (process ${owner}): one run per report folder at a time; wait for it, or give another --out`);
    }
    rmSync(file, { force: true }); // its owner is gone: a stale lock
  }
}

export function releaseReportLocks(): void {
  for (const file of heldLocks) rmSync(file, { force: true });
  heldLocks.clear();
  process.removeListener('exit', releaseReportLocks);
}

function lockFile(path: string): string {
  return join(tmpdir(), `leaksim-report-lock-${createHash('sha256').update(path).digest('hex').slice(0, 24)}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A target name as part of a folder name: `flaw:abandoned` → `flaw-abandoned`, `./x/adapter.ts` → `x-adapter.ts`. */
export function folderPart(name: string): string {
  return name.replace(/[^\w.-]+/g, '-').replace(/^[-.]+|-+$/g, '') || 'target';
}

/**
 * The pre-flight for a single output file (`record`, `import`): an existing file is replaced only
 * with --force, a folder never; the folder it goes into must exist and be writable.
 */
export function checkOutputFile(file: string, force: boolean, where: Destination): string {
  if (file.trim() === '') throw refuse(where, file, 'is empty: give a file name, e.g. traffic.jsonl');
  const path = resolve(file);
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    stat = undefined;
  }
  if (stat?.isDirectory()) throw refuse(where, file, 'is a folder: give a file name, e.g. traffic.jsonl');
  if (stat && !stat.isFile()) throw refuse(where, file, 'exists and is not a regular file');
  if (stat && !force) throw refuse(where, file, 'exists: pass --force to replace it');
  const parent = dirname(path);
  let parentStat;
  try {
    parentStat = statSync(parent);
  } catch {
    throw refuse(where, file, `cannot be written: the folder ${dirname(file) || '.'} does not exist`);
  }
  if (!parentStat.isDirectory()) throw refuse(where, file, `cannot be written: ${dirname(file)} is not a folder`);
  try {
    accessSync(parent, constants.W_OK);
  } catch {
    throw refuse(where, file, `cannot be written: ${dirname(file) || '.'} is not writable`);
  }
  return path;
}
