/**
 * Every shared claude-mem release (7.0.0 to 13.15.3), run unmodified, end to end: `check --target
 * claude-mem:<path>` picks the expect file of the release's era by itself, says which, and exits 0
 * (every scenario gives the verdict its era's file states; KNOWN_GAPS below); with HOME and TMPDIR pointed at a
 * scratch folder standing for the user's, nothing is written in that home and no temporary folder
 * is left behind. Slow (one check per release). Needs ../shared (see support.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeTitle, sharedReleases } from './support.ts';

const releases = sharedReleases();

/** Each release's era, by its structure (sim/targets/claude-mem/layout.ts eraOf). */
const ERA_OF: Readonly<Record<string, string>> = {
  '7.0.0': 'memory-array',
  '8.2.10': 'legacy-routes-unaborted',
  '8.5.7': 'legacy-routes',
  '9.1.1': 'idle-generators',
  '10.7.2': 'idle-generators',
  '11.0.1': 'idle-generators',
  '12.7.5': 'ingest-sqlite',
  '13.0.0': 'ingest-sqlite',
  '13.15.3': 'ingest-buffer',
};

/** Runs not as expected that docs/claude-mem.md explains ("Known gaps"), by release: none today. */
const KNOWN_GAPS: Readonly<Record<string, readonly string[]>> = {};

describe.skipIf(releases.length === 0)(describeTitle('every shared release', releases), () => {
  for (const release of releases) {
    it(`${release.version}: check picks its era's expect file and holds to it (exit 0), and writes nothing in the home or the temporary folder it was given`, () => {
      const scratch = mkdtempSync(join(tmpdir(), 'leaksim-claude-mem-home-'));
      const home = join(scratch, 'home');
      const temporary = join(scratch, 'tmp');
      mkdirSync(home);
      mkdirSync(temporary);
      try {
        const check = spawnSync(process.execPath, ['bin/leaksim.js', 'check', '--target', release.target, '--jobs', '1', '--out', join(scratch, 'out')], {
          // tsx (the loader that compiles leaksim's sources and claude-mem's) keeps a compile cache in
          // the temporary folder; it is the loader's, not claude-mem's, and is turned off here so that
          // the folder shows anything else that is written.
          env: { ...process.env, HOME: home, TMPDIR: temporary, CLAUDE_MEM_DATA_DIR: '', CLAUDE_CONFIG_DIR: '', TSX_DISABLE_CACHE: '1' },
          encoding: 'utf8',
        });
        const era = ERA_OF[release.version];
        if (era) expect(check.stderr).toContain(`expect file: scenarios/expect/claude-mem-${era}.json (claude-mem ${release.version} is of the ${era} era`);
        expect(check.stderr.split('\n').filter((line) => line.startsWith('leaksim:'))).toEqual([]);
        const runs = (JSON.parse(readFileSync(join(scratch, 'out', 'summary.json'), 'utf8')) as { runs: { scenario: string; seed: number; asExpected: boolean }[] }).runs;
        const gaps = KNOWN_GAPS[release.version] ?? [];
        expect(runs.filter((run) => !run.asExpected).map((run) => `${run.scenario} seed ${run.seed}`)).toEqual(gaps);
        expect(check.status).toBe(gaps.length === 0 ? 0 : 1);
        expect(readdirSync(home)).toEqual([]);
        expect(readdirSync(temporary)).toEqual([]);
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    }, 1_200_000);
  }
});
