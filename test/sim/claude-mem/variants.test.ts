/**
 * claude-mem as the next pull request would change it: copies of shared releases with one edit.
 * The bridge follows claude-mem's structure, so a new constructor parameter, a renamed route
 * handler or a new export of a stood-in module changes nothing in the run (the same trace as the
 * release); a route that fails because the bridge does not fit, or claude-mem's code that never
 * returns, ends the command in one line with exit code 2; claude-mem's console output is captured,
 * never printed among leaksim's lines. Needs ../shared (see support.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../../sim/cli/main.ts';
import { collectOutput } from '../../../sim/cli/output.ts';
import { describeTitle, removeVariants, SHARED, variantOf } from './support.ts';

const available = ['8.5.7', '9.1.1', '13.15.3'].every((release) => existsSync(join(SHARED, release))) ? [SHARED] : [];
const ROUTES = 'src/services/worker/http/routes/SessionRoutes.ts';
/** A line of 13.15.3's summarize-by-session route, before which a variant adds a statement. */
const SUMMARIZE_STORE = '    const store = this.dbManager.getSessionStore();\n';

async function steadyWeek(checkout: string, out: string, extra: readonly string[] = []): Promise<{ code: number; stdout: string[]; stderr: string[] }> {
  const output = collectOutput();
  const code = await main(['run', 'scenarios/steady-week.json', '--target', `claude-mem:${checkout}`, '--seed', '1', '--out', `reports/test-claude-mem-variant-${out}`, ...extra], output);
  return { code, stdout: output.stdout, stderr: output.stderr };
}

const traceOf = (lines: readonly string[]): string | undefined => lines.map((line) => /trace ([0-9a-f]{16})/.exec(line)?.[1]).find(Boolean);

describe.skipIf(available.length === 0)(describeTitle('the next pull request', available), () => {
  afterAll(removeVariants);

  it('one more constructor parameter (a new provider before the broadcaster) is wired by name: same trace as 13.15.3', async () => {
    const original = await steadyWeek(join(SHARED, '13.15.3'), 'ctor-original');
    const variant = variantOf('13.15.3', {
      [ROUTES]: (text) => text.replace('    private openRouterAgent: OpenRouterProvider,\n', '    private openRouterAgent: OpenRouterProvider,\n    private mistralAgent: MistralProvider,\n'),
    });
    const run = await steadyWeek(variant, 'ctor');
    expect(run.stderr.filter((line) => line.startsWith('leaksim'))).toEqual([]);
    expect(run.code).toBe(original.code);
    expect(traceOf(run.stdout)).toBe(traceOf(original.stdout));
  }, 180_000);

  it('a renamed route handler is found by the path setupRoutes registers: same trace as 8.5.7', async () => {
    const original = await steadyWeek(join(SHARED, '8.5.7'), 'rename-original');
    const variant = variantOf('8.5.7', { [ROUTES]: (text) => text.replaceAll('handleSessionInitByClaudeId', 'handleSessionStartForClaudeSession') });
    const run = await steadyWeek(variant, 'rename');
    expect(run.code).toBe(original.code);
    expect(traceOf(run.stdout)).toBe(traceOf(original.stdout));
  }, 180_000);

  it('a new export in stood-in modules (the logger, the SQLite queue) is exported by the stand-in too: same trace as 9.1.1', async () => {
    const original = await steadyWeek(join(SHARED, '9.1.1'), 'export-original');
    const variant = variantOf('9.1.1', {
      'src/utils/logger.ts': (text) => `${text}\nexport const LOG_ROTATION_DAYS = 7;\nexport function rotateLogs(): void {}\n`,
      'src/services/sqlite/PendingMessageStore.ts': (text) => `${text}\nexport const MAX_PENDING_AGE_MS = 60_000;\n`,
      [ROUTES]: (text) => text.replace("import { logger } from '../../../../utils/logger.js';", "import { logger, LOG_ROTATION_DAYS, rotateLogs } from '../../../../utils/logger.js';\nvoid LOG_ROTATION_DAYS; void rotateLogs;"),
    });
    const run = await steadyWeek(variant, 'export');
    expect(run.stderr.filter((line) => line.startsWith('leaksim'))).toEqual([]);
    expect(traceOf(run.stdout)).toBe(traceOf(original.stdout));
  }, 180_000);

  it("a route that fails on leaksim's stand-in is leaksim's error: one line naming the release, the file and the symbol, exit 2, no verdict", async () => {
    const variant = variantOf('13.15.3', { [ROUTES]: (text) => text.replace(SUMMARIZE_STORE, `${SUMMARIZE_STORE}    store.countArchivedPrompts(1);\n`) });
    const run = await steadyWeek(variant, 'misfit');
    expect(run.code).toBe(2);
    expect(run.stdout.filter((line) => line.startsWith('✗') || line.startsWith('✓'))).toEqual([]);
    expect(run.stderr).toHaveLength(1);
    expect(run.stderr[0]).toContain('claude-mem 13.15.3');
    expect(run.stderr[0]).toContain('countArchivedPrompts is not a function');
    expect(run.stderr[0]).toContain('src/services/worker/http/routes/SessionRoutes.ts');
  }, 180_000);

  it("claude-mem's code in an endless loop is stopped by the watchdog, in one line, exit 2", async () => {
    const variant = variantOf('13.15.3', { [ROUTES]: (text) => text.replace(SUMMARIZE_STORE, `${SUMMARIZE_STORE}    while (store) { /* never returns */ }\n`) });
    const before = process.env.LEAKSIM_WATCHDOG_SECONDS;
    process.env.LEAKSIM_WATCHDOG_SECONDS = '2';
    try {
      const run = await steadyWeek(variant, 'loop');
      expect(run.code).toBe(2);
      expect(run.stderr).toHaveLength(1);
      expect(run.stderr[0]).toContain("claude-mem's code did not return within 6 s (an endless loop?)");
    } finally {
      if (before === undefined) delete process.env.LEAKSIM_WATCHDOG_SECONDS;
      else process.env.LEAKSIM_WATCHDOG_SECONDS = before;
    }
  }, 180_000);

  it("claude-mem's console output is captured and counted in the report, never printed among leaksim's lines (--json stays JSON)", async () => {
    const variant = variantOf('13.15.3', { [ROUTES]: (text) => text.replace(SUMMARIZE_STORE, `${SUMMARIZE_STORE}    console.log('[SETTINGS] Created settings file with defaults'); console.error('[WORKER] summarize');\n`) });
    const run = await steadyWeek(variant, 'console', ['--json']);
    expect(run.stderr.filter((line) => line.includes('SETTINGS') || line.includes('[WORKER]'))).toEqual([]);
    const report = JSON.parse(run.stdout.join('\n')) as unknown;
    expect(report).toBeTypeOf('object');
    const summary = readFileSync('reports/test-claude-mem-variant-console/summary.json', 'utf8');
    const warning = (JSON.parse(summary) as { runs: { warnings?: { kind: string; count: number; message: string }[] }[] }).runs[0]!.warnings!.find((entry) => entry.kind === 'claude-mem console output');
    expect(warning?.count).toBeGreaterThanOrEqual(2);
    expect(warning?.message).toContain('[SETTINGS] Created settings file with defaults');
  }, 180_000);
});
