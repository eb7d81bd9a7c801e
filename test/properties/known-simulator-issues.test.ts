/**
 * Counterexamples the properties found on the reference in deep runs (LEAKSIM_PROPERTY_RUNS),
 * kept as regression tests. All three were simulator bugs in sim/runs/driver.ts, not reference bugs:
 * the leaky twin, written independently, failed each the same way. The driver now stops the clock
 * at every target timer and settles what it started before moving on (in the main loop and in
 * the quiet phase), and settles the old worker's promise work before a restart. Each must pass on
 * the reference and on the twin.
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
  expect(code, output.stderr.join('\n')).not.toBe(2); // bad input would make the verdict meaningless
  const summary = JSON.parse(output.stdout.join('\n')) as { runs: { firstViolation: { invariant: string } | null }[] };
  return summary.runs[0]!.firstViolation?.invariant ?? undefined;
}

describe('simulator bugs found by the properties (sim/runs/driver.ts), kept as regressions', () => {
  it("a worker restart at the moment a watchdog aborts a generator: the dead worker's promise callbacks must not run after the restart (they requeued the new worker's in-flight message)", async () => {
    // A sleep freezes the worker past the generator timeout; the restart came right after the
    // clock fired the old worker's watchdog, and its abort's callbacks used to run after it.
    for (const target of ['reference', 'twin']) {
      const args = ['replay', `${FIXTURES}/restart-after-watchdog-abort.jsonl`, '--target', target, '--settings', `${FIXTURES}/restart-after-watchdog-abort.settings.json`, '--session-end', 'complete', '--seed', '0'];
      expect(await firstViolation(args), target).toBeUndefined(); // was no-lost-message
    }
  });

  it('a generator restarted by a timer while the driver advances to a far event gets its reply on time (it was scheduled behind the clock, looked hung, and was aborted every cycle)', async () => {
    for (const target of ['reference', 'twin']) {
      expect(await firstViolation(['run', `${FIXTURES}/restarted-generator-reply-skipped.json`, '--target', target, '--seed', '1465']), target).toBeUndefined(); // was drains-when-quiet
    }
  });

  it("the same in the quiet phase, which advances a minute at a time (a restarted generator's first reply was handled up to 59 s late, and a backlog drained after the horizon)", async () => {
    for (const target of ['reference', 'twin']) {
      expect(await firstViolation(['run', `${FIXTURES}/quiet-phase-reply-late.json`, '--target', target, '--seed', '1249']), target).toBeUndefined(); // was drains-when-quiet
    }
  });
});
