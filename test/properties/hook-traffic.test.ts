/**
 * Traffic-level properties: generated hook traffic and settings, played as `leaksim replay` plays
 * a file. A failure is written as a traffic file with the command that replays it.
 */
import fc from 'fast-check';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtInTarget } from '../../sim/targets/targets.ts';
import { parseTraffic, readAllEvents } from '../../sim/traffic-file/reader.ts';
import { checkHookTraffic, hookTrafficProperty } from './support/properties.ts';
import { referenceRuns, timeoutFor } from './support/runs.ts';
import { caseEvents, replayPrinted, type TrafficCase } from './support/traffic-case.ts';

const QUICK_RUNS = 100;

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
    // A folder of its own: the detection test writes reports/counterexamples at the same time.
    const dir = mkdtempSync(join(tmpdir(), 'leaksim-counterexample-'));
    const { details, failure } = await checkHookTraffic(planted, { seed: 1, numRuns: 100 }, dir);
    expect(failure).toBeDefined();
    const { invariant, written, message } = failure!;
    expect(invariant).toBe('expiry-not-early');
    expect(written.trafficFile).toBe(join(dir, 'hook-traffic-flaw-cleanup-not-cancelled.jsonl'));
    expect(message).toContain(`replay:     ${written.replay}`);
    expect(message).toContain(`seed ${details.seed}, path "${details.counterexamplePath}"`);
    expect(written.replay).toBe(
      `npx leaksim replay ${dir}/hook-traffic-flaw-cleanup-not-cancelled.jsonl --target flaw:cleanup-not-cancelled --settings ${dir}/hook-traffic-flaw-cleanup-not-cancelled.settings.json --session-end complete --seed ${details.counterexample![0].seed}`,
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
    const dir = mkdtempSync(join(tmpdir(), 'leaksim-counterexample-'));
    const first = await checkHookTraffic(planted, { seed: 7, numRuns: 100 }, dir);
    const again = await checkHookTraffic(planted, { seed: 7, numRuns: 100 }, dir);
    expect(again.details.counterexample).toEqual(first.details.counterexample);
    // The printed seed and path go straight to the shrunk case, with no search.
    const direct = await fc.check(hookTrafficProperty(planted.factory), { seed: first.details.seed, path: first.details.counterexamplePath!, numRuns: 1 });
    expect(direct.failed).toBe(true);
    expect(direct.counterexample).toEqual(first.details.counterexample);
  });
});
