import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TargetFactory } from '../../src/contract.ts';
import { referenceTarget } from '../../src/session-manager.ts';
import { metricsCsv, summaryJson } from '../../sim/report/report.ts';
import { runScenario, type RunOutcome } from '../../sim/runs/run.ts';
import { loadScenario } from '../../sim/runs/scenario.ts';
import { builtInTarget } from '../../sim/targets/targets.ts';
import { delegate } from '../helpers/declaring-targets.ts';

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

    const stdout = execFileSync(process.execPath, ['bin/leaksim.js', 'run', 'scenarios/steady-week.json', '--seed', '2', '--days', '2', '--json', '--out', join(mkdtempSync(join(tmpdir(), 'leaksim-process-')), 'report')], { encoding: 'utf8' });
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
    // A target's runaway is its verdict (docs/errors.md), not bad input.
    expect(outcome.verdict).toBe('fail');
    expect(outcome.firstViolation?.invariant).toBe('no-restart-storm');
    expect(outcome.firstViolation?.detail).toMatch(/runaway timers: more than 10000 zero-delay timer callbacks within 60 s of simulated time \(seed 7\)/);
    expect(outcome.reproduce).toContain('--seed 7');
  });

  it('a zero-delay loop started later, from a promise callback, is caught too', async () => {
    const runaway: TargetFactory = (environment) => {
      const target = referenceTarget(environment);
      const spin = (): void => void Promise.resolve().then(() => setImmediate(spin));
      return { ...delegate(target), initializeSession: (request) => (spin(), target.initializeSession(request)) };
    };
    const outcome = await runScenario(steadyWeek, { target: { name: 'runaway', factory: runaway, description: {} }, seed: 3, days: 1 });
    expect(outcome.verdict).toBe('fail');
    expect(outcome.firstViolation?.invariant).toBe('no-restart-storm');
    expect(outcome.firstViolation?.detail).toMatch(/runaway timers: .* \(seed 3\)$/);
  });

  // A 5-second poll over a quiet night used to be "more than 10000 timer callbacks between two events".
  it.each([
    ['a 5-second poll across quiet nights', 'steady-week', 5_000],
    ['a 1-second poll across 14-hour laptop sleeps', 'laptop-sleep', 1_000],
  ])('%s is not a runaway', async (_name, scenario, periodMs) => {
    let polls = 0;
    const polling: TargetFactory = (environment) => {
      const target = referenceTarget(environment);
      const poll = setInterval(() => (polls += 1), periodMs);
      return { ...delegate(target), shutdown: async () => (clearInterval(poll), target.shutdown()) };
    };
    const outcome = await runScenario(loadScenario(`scenarios/${scenario}.json`), { target: { name: 'polling', factory: polling, description: {} }, seed: 1, days: 2, stop: 'never' });
    expect(outcome.error).toBeUndefined();
    expect(polls).toBeGreaterThan(10_000);
    // The poll keeps a timer through the quiet phase, so drains-when-quiet names it, and nothing else fails.
    expect(Object.keys(outcome.result!.violationCounts)).toEqual(['drains-when-quiet']);
  });
});

describe('runaway generators', () => {
  it('a generator that restarts itself at once, for ever, ends the run with an error naming the seed instead of hanging', async () => {
    // Spins on microtasks alone: no timer is involved, so only the start count can see it.
    const spinning: TargetFactory = (environment) =>
      referenceTarget({
        ...environment,
        agent: {
          run: async (context) => {
            while (!context.signal.aborted) await environment.agent.run(context).catch(() => undefined);
          },
        },
      });
    const outcome = await runScenario(steadyWeek, { target: { name: 'spinning', factory: spinning, description: {} }, seed: 3, days: 1 });
    expect(outcome.verdict).toBe('fail');
    expect(outcome.firstViolation?.invariant).toBe('no-restart-storm');
    expect(outcome.firstViolation?.detail).toMatch(/^runaway generators: more than 10000 generator starts between two events: generators restarted at once, again and again, with no event in between \(seed 3\)$/);
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
