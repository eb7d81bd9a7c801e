/**
 * Reading a user's git clone of claude-mem, and nothing else: every command here only reads
 * (`rev-parse`, `tag --list`, `rev-list`, `archive`), with GIT_OPTIONAL_LOCKS=0 so that git does
 * not even refresh the index. A commit's files are read with `git archive` into a folder leaksim
 * created, never checked out: the clone's work tree, index, refs and worktree list stay as they were.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { InputError } from '../../src/input-error.ts';

/**
 * What git is asked for a clone: no optional locks, no pager, no terminal prompt; and none of the
 * variables that would point git at another repository than the one named (set inside a git hook).
 */
const GIT_ENV = Object.fromEntries(
  Object.entries({ ...process.env, GIT_OPTIONAL_LOCKS: '0', GIT_TERMINAL_PROMPT: '0', GIT_PAGER: 'cat', LC_ALL: 'C' }).filter(([name]) => !['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_COMMON_DIR', 'GIT_OBJECT_DIRECTORY'].includes(name)),
);
/** A listing larger than this is not a claude-mem history (it has a few hundred tags). */
const MAX_GIT_OUTPUT_BYTES = 64 * 2 ** 20;
/** The paths of a commit the claude-mem target reads (sim/targets/claude-mem/layout.ts). */
export const ARCHIVED_PATHS = ['package.json', 'src'] as const;

export interface Release {
  /** The tag as named in the clone: `v8.5.7`. */
  readonly tag: string;
  /** The full commit id the tag points at. */
  readonly commit: string;
}

function git(clone: string, args: readonly string[]): string {
  return execFileSync('git', ['-C', clone, ...args], { env: GIT_ENV, encoding: 'utf8', maxBuffer: MAX_GIT_OUTPUT_BYTES, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The absolute path of a git clone (a work tree or a bare repository); anything else is bad input. */
export function checkClone(path: string, source: string): string {
  const absolute = resolve(path);
  if (path.trim() === '' || !existsSync(absolute) || !statSync(absolute).isDirectory()) throw new InputError(source, 0, '', `${JSON.stringify(path)} is not a folder: expected a git clone of claude-mem`);
  try {
    git(absolute, ['rev-parse', '--git-dir']);
  } catch {
    throw new InputError(source, 0, '', `${JSON.stringify(path)} is not a git clone (git rev-parse --git-dir failed there): expected a git clone of claude-mem`);
  }
  return absolute;
}

/** The commit a ref names; an unknown ref is bad input naming the flag. */
export function resolveCommit(clone: string, ref: string, flag: string): string {
  if (ref.trim() === '' || ref.startsWith('-')) throw new InputError('leaksim history', 0, flag, `expected a tag, branch or commit, got ${JSON.stringify(ref)}`);
  try {
    return git(clone, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`]).trim();
  } catch {
    throw new InputError('leaksim history', 0, flag, `names no commit in the clone: ${JSON.stringify(ref)} is not a tag, branch or commit there`);
  }
}

/** `v8.5.7`, `8.5.7`, `v13.0`: a release tag; pre-releases (`v9.0.0-beta.1`) and other tags are not releases. */
const RELEASE_TAG = /^v?(\d+)\.(\d+)(?:\.(\d+))?$/;

export function releaseVersion(tag: string): readonly number[] | undefined {
  const match = RELEASE_TAG.exec(tag);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)] : undefined;
}

export function compareReleases(a: Release, b: Release): number {
  const left = releaseVersion(a.tag)!;
  const right = releaseVersion(b.tag)!;
  for (let index = 0; index < 3; index += 1) if (left[index] !== right[index]) return left[index]! - right[index]!;
  return a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0;
}

/**
 * The release tags from `from` (a tag at it or after it) to `to` (reachable from it), oldest
 * version first. Without `from`, every release tag reachable from `to`.
 */
export function releasesInRange(clone: string, from: string | undefined, to: string): Release[] {
  const args = ['tag', '--list', '--merged', to, ...(from === undefined ? [] : ['--contains', from]), '--format=%(refname:strip=2) %(objectname) %(*objectname)'];
  const releases: Release[] = [];
  for (const line of git(clone, args).split('\n')) {
    const [tag, object, peeled] = line.trim().split(' ');
    if (!tag || !releaseVersion(tag)) continue;
    // An annotated tag points at a tag object; %(*objectname) is the commit beneath it.
    releases.push({ tag, commit: peeled || object! });
  }
  return releases.sort(compareReleases);
}

/** Whether `ancestor` is `descendant` or one of its ancestors. */
export function isAncestor(clone: string, ancestor: string, descendant: string): boolean {
  try {
    git(clone, ['merge-base', '--is-ancestor', ancestor, descendant]);
    return true;
  } catch {
    return false;
  }
}

/** The commits from `from` to `to` along the first-parent line, both included, oldest first (what bisect walks). */
export function commitsBetween(clone: string, from: string, to: string): string[] {
  const after = git(clone, ['rev-list', '--first-parent', '--ancestry-path', '--reverse', `${from}..${to}`]).split('\n').filter(Boolean);
  return [from, ...after];
}

/** The first line of a commit's message, for reports. */
export function commitSubject(clone: string, commit: string): string {
  return git(clone, ['log', '-1', '--format=%s', commit]).trim();
}

/**
 * Writes the files of `commit` the claude-mem target reads (package.json and src/) into `folder`,
 * which must be new: `git archive` piped into `tar -x`. Rejects with one line when the commit has
 * no such files or the archive fails.
 */
export function extractCommit(clone: string, commit: string, folder: string): Promise<void> {
  mkdirSync(folder);
  return new Promise((resolvePromise, reject) => {
    const archive = spawn('git', ['-C', clone, 'archive', '--format=tar', commit, '--', ...ARCHIVED_PATHS], { env: GIT_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    const untar = spawn('tar', ['-x', '-f', '-', '-C', folder], { stdio: ['pipe', 'ignore', 'pipe'] });
    let archiveError = '';
    let untarError = '';
    archive.stderr.on('data', (chunk: Buffer) => void (archiveError += chunk.toString()));
    untar.stderr.on('data', (chunk: Buffer) => void (untarError += chunk.toString()));
    archive.stdout.pipe(untar.stdin);
    let archiveCode: number | null | undefined;
    let untarCode: number | null | undefined;
    const settle = () => {
      if (archiveCode === undefined || untarCode === undefined) return;
      if (archiveCode !== 0) reject(new Error(`git archive ${commit.slice(0, 12)} failed: ${firstLine(archiveError) || `exit ${archiveCode}`}`));
      else if (untarCode !== 0) reject(new Error(`tar could not unpack ${commit.slice(0, 12)}: ${firstLine(untarError) || `exit ${untarCode}`}`));
      else resolvePromise();
    };
    archive.on('error', reject);
    untar.on('error', reject);
    archive.on('close', (code) => {
      archiveCode = code;
      settle();
    });
    untar.on('close', (code) => {
      untarCode = code;
      settle();
    });
  });
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.replace(/^(fatal|error): /, '') ?? '';
}
