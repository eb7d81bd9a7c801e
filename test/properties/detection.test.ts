/**
 * Detection power of the property suite: every flaw must be caught within fast-check's default
 * run count, the twin (no flaw) never; the table is written to reports/property-detection.md and
 * printed. Every hook-traffic counterexample is replayed through `leaksim replay` and must
 * reproduce the same invariant.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RUN_BUDGET } from './support/runs.ts';
import { replayPrinted } from './support/traffic-case.ts';
import { detectAll, detectionMarkdown, DETECTION_TARGETS, firstCatch, type TargetDetections } from './support/detection.ts';

export const DETECTION_REPORT = 'reports/property-detection.md';

describe('detection power', () => {
  let rows: TargetDetections[] = [];

  it(
    'every flaw, and the baseline, fails a property within the default run count; the twin fails none',
    async () => {
      rows = await detectAll();
      const [control] = await detectAll([{ target: 'twin', description: 'the leaky implementation with no flaw switched on' }]);
      const markdown = detectionMarkdown(rows, control);
      mkdirSync('reports', { recursive: true });
      writeFileSync(DETECTION_REPORT, markdown);
      writeFileSync(DETECTION_REPORT.replace(/\.md$/, '.json'), `${JSON.stringify({ rows, control }, (key, value) => (key === 'trafficFailure' ? undefined : value), 2)}\n`);
      console.log(markdown);

      expect(rows.map((row) => row.target)).toEqual(DETECTION_TARGETS.map((entry) => entry.target));
      const uncaught = rows.filter((row) => !firstCatch(row)).map((row) => row.target);
      expect(uncaught).toEqual([]);
      for (const row of rows) expect(firstCatch(row)!.runs).toBeLessThanOrEqual(DEFAULT_RUN_BUDGET);
      expect(control!.detections.filter((detection) => detection.caught).map((detection) => `${detection.property}: ${detection.invariant}`)).toEqual([]);
    },
    240_000,
  );

  it('every hook-traffic counterexample replays through `leaksim replay` to the same invariant', async () => {
    const replayable = rows.flatMap((row) => row.detections.flatMap((detection) => (detection.trafficFailure ? [{ target: row.target, failure: detection.trafficFailure }] : [])));
    // A traffic file holds hooks only: flaws that need a hung or crashing generator, an agent that
    // leaves its abort listener, or a shutdown with generators still running, are out of its reach
    // (no-generator-watchdog, signal-shared-across-runs, restart-without-delay, watchdog-from-start,
    // shutdown-does-not-wait). Every other one counts.
    expect(replayable.length).toBeGreaterThanOrEqual(DETECTION_TARGETS.length - 5);
    for (const { target, failure } of replayable) {
      const replayed = await replayPrinted(failure.written.replay);
      expect({ target, code: replayed.code, invariant: replayed.invariant }).toEqual({ target, code: 1, invariant: failure.invariant });
    }
  });
});
