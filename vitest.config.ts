import { defineConfig } from 'vitest/config';

/**
 * The slow end-to-end tests: packing and installing leaksim, the heap gates, claude-mem's own
 * code. `npm test` runs every test; `npm run test:fast` (vitest's project "fast") leaves these out
 * for the edit loop.
 */
export const SLOW_TESTS = ['test/package/**/*.test.ts', 'test/heap/heap-gate.test.ts', 'test/heap/heap-target.test.ts', 'test/sim/claude-mem/claude-mem-*.test.ts'];

/**
 * No test may fail because the machine is slow: a loaded machine only makes the suite slower. The
 * one bound on a test is this, which catches a hang; a test sets none of its own.
 */
const HANG_MS = 3_600_000;

export default defineConfig({
  test: {
    // Heap checks force collection; vitest 4 reads execArgv at the top level only (a nested
    // poolOptions execArgv is ignored), and the heap tests assert that gc exists.
    execArgv: ['--expose-gc'],
    pool: 'forks',
    // The JSON results feed the plain "N passed, N failed" line that .ci/run prints last.
    reporters: ['default', 'json'],
    outputFile: { json: 'reports/vitest-results.json' },
    testTimeout: HANG_MS,
    hookTimeout: HANG_MS,
    projects: [
      { extends: true, test: { name: 'fast', include: ['test/**/*.test.ts'], exclude: SLOW_TESTS } },
      { extends: true, test: { name: 'slow', include: SLOW_TESTS } },
    ],
  },
});
