/**
 * A small git clone of claude-mem made from the releases in ../shared/third-party/claude-mem/: one
 * commit per release, oldest version first, each tagged `v<version>`. Author, committer and dates
 * are fixed, so the same releases give the same commit ids on every machine and every time.
 * The clone is made in a temporary folder (never in the repository) and removed by the caller.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const FIXED = {
  GIT_AUTHOR_NAME: 'leaksim test',
  GIT_AUTHOR_EMAIL: 'test@leaksim.invalid',
  GIT_COMMITTER_NAME: 'leaksim test',
  GIT_COMMITTER_EMAIL: 'test@leaksim.invalid',
  GIT_AUTHOR_DATE: '2026-01-05T00:00:00Z',
  GIT_COMMITTER_DATE: '2026-01-05T00:00:00Z',
  GIT_CONFIG_NOSYSTEM: '1',
  HOME: tmpdir(),
};

export function git(clone: string, ...args: string[]): string {
  return execFileSync('git', ['-C', clone, '-c', 'init.defaultBranch=main', '-c', 'commit.gpgsign=false', '-c', 'tag.gpgsign=false', ...args], { env: { ...process.env, ...FIXED }, encoding: 'utf8' });
}

/** Release folders of `releasesDir` by version (7.0.0 before 10.7.2). */
export function releaseFolders(releasesDir: string): string[] {
  const version = (name: string) => name.split('.').map(Number);
  return readdirSync(releasesDir)
    .filter((name) => /^\d+\.\d+\.\d+$/.test(name))
    .sort((a, b) => {
      const [left, right] = [version(a), version(b)];
      for (let index = 0; index < 3; index += 1) if (left[index] !== right[index]) return left[index]! - right[index]!;
      return 0;
    });
}

export interface ReleaseCommit {
  /** Files to leave out of this commit (a release that cannot run: its session manager gone). */
  readonly remove?: readonly string[];
  readonly folder: string;
  /** The tag to give it; default `v<folder>`. Omit with `tag: null` for an untagged commit. */
  readonly tag?: string | null;
  readonly message?: string;
}

/** Makes the clone: one commit per entry, in the order given. Returns its path. */
export function makeReleaseClone(releasesDir: string, commits: readonly ReleaseCommit[]): string {
  const clone = mkdtempSync(join(tmpdir(), 'leaksim-release-clone-'));
  git(clone, 'init', '--quiet');
  for (const commit of commits) {
    for (const name of ['src', 'package.json']) rmSync(join(clone, name), { recursive: true, force: true });
    cpSync(join(releasesDir, commit.folder, 'src'), join(clone, 'src'), { recursive: true });
    cpSync(join(releasesDir, commit.folder, 'package.json'), join(clone, 'package.json'));
    for (const path of commit.remove ?? []) rmSync(join(clone, path), { force: true });
    git(clone, 'add', '--all');
    git(clone, 'commit', '--quiet', '--allow-empty', '-m', commit.message ?? `release ${commit.folder}`);
    const tag = commit.tag === undefined ? `v${commit.folder}` : commit.tag;
    if (tag !== null) git(clone, 'tag', '-a', tag, '-m', tag);
  }
  return clone;
}
