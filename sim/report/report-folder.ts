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
 * and only then the old report removed. A failure at any step leaves the old report as it was.
 */
import { accessSync, constants, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

function hasMarker(path: string): boolean {
  try {
    return readFileSync(join(path, REPORT_MARKER_FILE), 'utf8') === REPORT_MARKER_TEXT;
  } catch {
    return false;
  }
}

/**
 * The pre-flight: throws an InputError when `dir` must not be written (see the file comment), or
 * cannot be (a file in the way, a folder that is not writable). Returns the absolute path.
 */
export function checkReportFolder(dir: string, where: Destination): string {
  if (dir.trim() === '') throw refuse(where, dir, 'is empty: give a folder, e.g. reports/my-run');
  const path = resolve(dir);
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
  if (stat) {
    if (stat.isSymbolicLink()) throw refuse(where, dir, 'is a symbolic link: give the folder itself');
    if (!stat.isDirectory()) throw refuse(where, dir, 'is an existing file: leaksim writes reports only into folders it created');
    if (readdirSync(path).length > 0 && !hasMarker(path)) {
      throw refuse(where, dir, `is a folder leaksim did not write (it is not empty and has no ${REPORT_MARKER_FILE}): give a new folder, or remove it yourself if it is an old report`);
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
  return path;
}

/**
 * Writes `files` (relative path → text) as the folder `dir`, with the marker, replacing a report
 * folder leaksim wrote before. Checks the destination again first.
 */
export function writeReportFolder(dir: string, files: Readonly<Record<string, string>>, where: Destination): void {
  const path = checkReportFolder(dir, where);
  const parent = dirname(path);
  mkdirSync(parent, { recursive: true });
  const staging = mkdtempSync(join(parent, `.${basename(path)}.partial-`));
  let aside: string | undefined;
  try {
    writeFileSync(join(staging, REPORT_MARKER_FILE), REPORT_MARKER_TEXT);
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
