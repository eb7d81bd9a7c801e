/**
 * Counterexamples the properties found on the reference in deep runs (LEAKSIM_PROPERTY_RUNS),
 * kept as fixtures. All three are simulator bugs in sim/driver.ts, not reference bugs: the leaky
 * twin, written independently, fails each the same way, and each passes on the reference once the
 * driver settles promise work before a worker restart and advances the clock from timer to timer
 * (settling in between) in the main loop and in the quiet phase.
 *
 * Each test pins today's wrong verdict, on the reference and on the twin. When the driver is
 * fixed these fail: then change each expectation to "passes" (`toBeUndefined()`) and keep them as
 * regression tests.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../sim/cli/main.ts';
import { collectOutput } from '../../sim/cli/output.ts';

const FIXTURES = 'test/properties/fixtures';

/** Runs a leaksim command through the CLI function; returns the first invariant violated, if any. */
async function firstViolation(args: readonly string[]): Promise<string | undefined> {
  const output = collectOutput();
  const code = await main([...args, '--json', '--out', mkdtempSync(join(tmpdir(), 'leaksim-known-'))], output);
  expect(code, output.stderr.join('\n')).not.toBe(2); // bad input would make the pinned verdict meaningless
  const summary = JSON.parse(output.stdout.join('\n')) as { runs: { firstViolation: { invariant: string } | null }[] };
  return summary.runs[0]!.firstViolation?.invariant ?? undefined;
}

describe('known simulator issues found by the properties (sim/driver.ts)', () => {
  it("a worker restart at the moment a watchdog aborts a generator: the dead worker's promise callbacks run after the restart and requeue the new worker's in-flight message", async () => {
    // A sleep freezes the worker past the generator timeout; the restart is dispatched right after
    // the clock fired the old worker's watchdog, before its abort's callbacks ran.
    for (const target of ['reference', 'twin']) {
      const args = ['replay', `${FIXTURES}/restart-after-watchdog-abort.jsonl`, '--target', target, '--settings', `${FIXTURES}/restart-after-watchdog-abort.settings.json`, '--session-end', 'complete', '--seed', '0'];
      expect(await firstViolation(args), target).toBe('no-lost-message'); // should pass
    }
  });

  it('a generator restarted by a timer while the driver advances to a far event gets its reply scheduled behind the clock, looks hung, and is aborted every cycle', async () => {
    for (const target of ['reference', 'twin']) {
      expect(await firstViolation(['run', `${FIXTURES}/restarted-generator-reply-skipped.json`, '--target', target, '--seed', '1465']), target).toBe('drains-when-quiet'); // should pass
    }
  });

  it("the same in the quiet phase, which advances a minute at a time: a restarted generator's first reply is handled up to 59 s late, and a backlog drains after the horizon", async () => {
    for (const target of ['reference', 'twin']) {
      expect(await firstViolation(['run', `${FIXTURES}/quiet-phase-reply-late.json`, '--target', target, '--seed', '1249']), target).toBe('drains-when-quiet'); // should pass
    }
  });
});
