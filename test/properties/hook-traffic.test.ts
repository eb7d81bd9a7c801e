/**
 * Traffic-level properties: generated hook traffic and settings, played as `leaksim replay` plays
 * a file. A failure is written as a traffic file with the command that replays it.
 */
import fc from 'fast-check';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../sim/cli/main.ts';
import { collectOutput } from '../../sim/cli/output.ts';
import { builtInTarget } from '../../sim/targets.ts';
import { parseTraffic, readAllEvents } from '../../sim/traffic-file/reader.ts';
import { checkHookTraffic, hookTrafficProperty } from './support/properties.ts';
import { referenceRuns, timeoutFor } from './support/runs.ts';
import { caseEvents, type TrafficCase } from './support/traffic-case.ts';

const QUICK_RUNS = 100;

/** Runs the command a counterexample printed, through the CLI function, and returns the first invariant it reports. */
export async function replayPrinted(replay: string): Promise<{ code: number; invariant: string | undefined; stdout: string }> {
  const args = replay.replace(/^npx leaksim /, '').split(' ');
  const output = collectOutput();
  const code = await main([...args, '--json', '--out', mkdtempSync(join(tmpdir(), 'leaksim-replay-'))], output);
  const summary = JSON.parse(output.stdout.join('\n')) as { runs: { firstViolation: { invariant: string } | null }[] };
  return { code, invariant: summary.runs[0]?.firstViolation?.invariant, stdout: output.stdout.join('\n') };
}

describe('hook traffic', () => {
  it(
    'any short run of hook traffic under small settings keeps every invariant on the reference',
    async () => {
      const { failure } = await checkHookTraffic(builtInTarget('reference')!, referenceRuns<[TrafficCase]>(QUICK_RUNS));
      if (failure) console.error(failure.message);
      expect(failure?.message).toBeUndefined();
    },
    timeoutFor(QUICK_RUNS),
  );

  it('a planted failure becomes a traffic file whose printed replay reproduces the same violation', async () => {
    const planted = builtInTarget('flaw:cleanup-not-cancelled')!;
    const { details, failure } = await checkHookTraffic(planted, { seed: 1, numRuns: 100 });
    expect(failure).toBeDefined();
    const { invariant, written, message } = failure!;
    expect(invariant).toBe('expiry-not-early');
    expect(written.trafficFile).toBe('reports/counterexamples/hook-traffic-flaw-cleanup-not-cancelled.jsonl');
    expect(message).toContain(`replay:     ${written.replay}`);
    expect(message).toContain(`seed ${details.seed}, path "${details.counterexamplePath}"`);
    expect(written.replay).toBe(
      'npx leaksim replay reports/counterexamples/hook-traffic-flaw-cleanup-not-cancelled.jsonl --target flaw:cleanup-not-cancelled --settings reports/counterexamples/hook-traffic-flaw-cleanup-not-cancelled.settings.json --session-end complete --seed ' +
        details.counterexample![0].seed,
    );
    // The file holds exactly the shrunk events.
    expect(readAllEvents(parseTraffic(readFileSync(written.trafficFile, 'utf8')))).toEqual(caseEvents(details.counterexample![0]));

    const replayed = await replayPrinted(written.replay);
    expect(replayed.code).toBe(1);
    expect(replayed.invariant).toBe(invariant);
    // And the reference, given the same file, passes it.
    const onReference = await replayPrinted(written.replay.replace('--target flaw:cleanup-not-cancelled', '--target reference'));
    expect(onReference.code).toBe(0);
  });

  it('the search is deterministic for a seed, and fast-check\'s printed seed and path replay the shrunk case', async () => {
    const planted = builtInTarget('flaw:no-session-cap')!;
    const first = await checkHookTraffic(planted, { seed: 7, numRuns: 100 });
    const again = await checkHookTraffic(planted, { seed: 7, numRuns: 100 });
    expect(again.details.counterexample).toEqual(first.details.counterexample);
    // The printed seed and path go straight to the shrunk case, with no search.
    const direct = await fc.check(hookTrafficProperty(planted.factory), { seed: first.details.seed, path: first.details.counterexamplePath!, numRuns: 1 });
    expect(direct.failed).toBe(true);
    expect(direct.counterexample).toEqual(first.details.counterexample);
  });
});
