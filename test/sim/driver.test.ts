import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { TargetFactory } from '../../src/contract.ts';
import { referenceTarget } from '../../src/session-manager.ts';
import { metricsCsv, summaryJson } from '../../sim/report.ts';
import { runScenario, type RunOutcome } from '../../sim/run.ts';
import { loadScenario } from '../../sim/scenario.ts';
import { builtInTarget } from '../../sim/targets.ts';

const steadyWeek = loadScenario('scenarios/steady-week.json');
const reference = builtInTarget('reference')!;

function fingerprint(outcome: RunOutcome): string {
  return summaryJson({ command: 'run', outcomes: [outcome] }) + metricsCsv(outcome.result!.samples);
}

describe('determinism', () => {
  it('gives the same trace hash and byte-identical reports for the same scenario and seed', async () => {
    const first = await runScenario(steadyWeek, { target: reference, seed: 1, days: 2 });
    const second = await runScenario(steadyWeek, { target: reference, seed: 1, days: 2 });
    expect(first.result!.traceHash).toMatch(/^[0-9a-f]{16}$/);
    expect(second.result!.traceHash).toBe(first.result!.traceHash);
    expect(fingerprint(second)).toBe(fingerprint(first));
  });

  it('changes the trace hash when the seed changes', async () => {
    const one = await runScenario(steadyWeek, { target: reference, seed: 1, days: 2 });
    const two = await runScenario(steadyWeek, { target: reference, seed: 2, days: 2 });
    expect(two.result!.traceHash).not.toBe(one.result!.traceHash);
  });

  it('gives the same run alone, after other runs in the same process, and in a separate process', async () => {
    const alone = await runScenario(steadyWeek, { target: reference, seed: 2, days: 2 });
    // A batch: other scenarios and targets first, as `check` does.
    await runScenario(loadScenario('scenarios/burst-at-cap.json'), { target: builtInTarget('baseline')!, seed: 1 });
    await runScenario(steadyWeek, { target: builtInTarget('flaw:unbounded-history')!, seed: 2, days: 2 });
    const inBatch = await runScenario(steadyWeek, { target: reference, seed: 2, days: 2 });
    expect(fingerprint(inBatch)).toBe(fingerprint(alone));

    const stdout = execFileSync(process.execPath, ['bin/leaksim.js', 'run', 'scenarios/steady-week.json', '--seed', '2', '--days', '2', '--json', '--out', 'reports/test-separate-process'], { encoding: 'utf8' });
    const separate = JSON.parse(stdout) as { runs: { traceHash: string }[] };
    expect(separate.runs[0]!.traceHash).toBe(alone.result!.traceHash);
  });
});

describe('runaway timers', () => {
  it('end the run with an error naming the seed instead of hanging', async () => {
    const runaway: TargetFactory = (environment) => {
      const target = referenceTarget(environment);
      const spin = () => setTimeout(spin, 0);
      spin();
      return target;
    };
    const outcome = await runScenario(steadyWeek, { target: { name: 'runaway', factory: runaway, description: {} }, seed: 7, days: 1 });
    expect(outcome.verdict).toBe('error');
    expect(outcome.error).toMatch(/runaway timers: more than 10000 timer callbacks between two events, .* \(seed 7\)/);
    expect(outcome.reproduce).toContain('--seed 7');
  });
});

describe('a broken adapter', () => {
  it('that never reports removals fails removals-reported', async () => {
    const silent: TargetFactory = ({ observer: _observer, ...environment }) => referenceTarget(environment);
    const outcome = await runScenario(steadyWeek, { target: { name: 'silent', factory: silent, description: {} }, seed: 1, days: 1 });
    expect(outcome.verdict).toBe('fail');
    expect(outcome.firstViolation?.invariant).toBe('removals-reported');
    expect(outcome.firstViolation?.detail).toMatch(/target holds \d+ sessions, but \d+ were created and not reported removed/);
  });
});
