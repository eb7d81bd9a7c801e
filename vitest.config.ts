import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Heap checks force collection; vitest 4 reads execArgv at the top level only (a nested
    // poolOptions execArgv is ignored), and the heap tests assert that gc exists.
    execArgv: ['--expose-gc'],
    pool: 'forks',
    // The JSON results feed the plain "N passed, N failed" line that .ci/run prints last.
    reporters: ['default', 'json'],
    outputFile: { json: 'reports/vitest-results.json' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
