/**
 * What a run says about itself: how far a run that stopped early got, every violated invariant of
 * a --keep-going run with its count and first occurrence, a headline that does not call a run
 * without an expectation "unexpected", and Node's process warnings captured and summarised.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { main } from '../../sim/cli/main.ts';
import { collectOutput } from '../../sim/cli/output.ts';
import { howFar } from '../../sim/cli/shared.ts';
import { summaryMarkdown } from '../../sim/report/report.ts';
import { runScenario } from '../../sim/runs/run.ts';
import { loadScenario } from '../../sim/runs/scenario.ts';
import { builtInTarget } from '../../sim/targets/targets.ts';
import { DAY_MS } from '../../sim/engine/traffic.ts';
import { referenceTarget } from '../../src/session-manager.ts';
import { delegate } from '../helpers/declaring-targets.ts';

describe('how far a run got', () => {
  it.each([
    [7, 7 * DAY_MS, false, 'over 7 days'],
    [1, DAY_MS, false, 'over 1 day'],
    [7, 0.4 * 7 * DAY_MS, true, 'in the first 0.4 of 7 days'],
    [1, 0.05 * DAY_MS, true, 'in the first 0.05 of 1 day'],
  ])('%i days, ended at %i ms, stopped early %s: "%s"', (days, endMs, stoppedEarly, text) => {
    expect(howFar(days, endMs, stoppedEarly)).toBe(text);
  });

  it('a run that stopped at its first violation prints how far it got', async () => {
    const output = collectOutput();
    await main(['run', 'scenarios/steady-week.json', '--target', 'baseline', '--seed', '1', '--out', 'reports/test-output'], output);
    expect(output.stdout[1]).toMatch(/^ {4}[\d,]+ hook events in the first 0\.\d of 7 days, trace [0-9a-f]{16};/);
  });
});

describe('--keep-going', () => {
  it('summary.md and summary.json list every violated invariant with its count and first occurrence', async () => {
    const output = collectOutput();
    await main(['run', 'scenarios/steady-week.json', '--target', 'baseline', '--seed', '1', '--days', '2', '--keep-going', '--out', 'reports/test-output-keep-going'], output);
    const summary = JSON.parse(readFileSync('reports/test-output-keep-going/summary.json', 'utf8')) as { runs: { violationCounts: Record<string, number>; violated: { invariant: string; count: number; first: { at: string; detail: string } }[] }[] };
    const run = summary.runs[0]!;
    expect(run.violated.length).toBeGreaterThanOrEqual(3);
    expect(run.violated.map((entry) => entry.invariant).sort()).toEqual(Object.keys(run.violationCounts).sort());
    for (const entry of run.violated) expect(entry.count).toBe(run.violationCounts[entry.invariant]);
    const markdown = readFileSync('reports/test-output-keep-going/summary.md', 'utf8');
    for (const entry of run.violated) expect(markdown).toContain(`| steady-week | baseline | 1 | ${entry.invariant} | ${entry.count} | ${entry.first.at}: `);
  });
});

describe('the headline', () => {
  it('a run with no stated expectation is not an "unexpected verdict"', async () => {
    const steadyWeek = loadScenario('scenarios/steady-week.json');
    const unjudged = await runScenario(steadyWeek, { target: { ...builtInTarget('baseline')!, name: 'my-adapter.ts' }, seed: 1, days: 1 });
    expect(unjudged.asExpected).toBeUndefined();
    expect(summaryMarkdown({ command: 'run', judgedBy: 'invariants', outcomes: [unjudged] })).toMatch(/^# leaksim run: ✗ 1 run of 1 failed\n\n1 run\. /);
    const judged = await runScenario(steadyWeek, { target: builtInTarget('reference')!, seed: 1, days: 1, expected: { failsOn: ['history-within-bound'] } });
    expect(summaryMarkdown({ command: 'check', outcomes: [judged] })).toMatch(/^# leaksim check: ✗ 1 unexpected verdict\n/);
  });
});

describe('process warnings', () => {
  it('are captured during a run, counted by kind, and summarised with where they were first raised', async () => {
    const warns = (environment: Parameters<typeof referenceTarget>[0]) => {
      const target = referenceTarget(environment);
      return { ...delegate(target), start: () => (process.emitWarning('the disk is nearly full', 'DiskWarning'), process.emitWarning('again', 'DiskWarning'), target.start()) };
    };
    const printed: unknown[] = [];
    const onWarning = (warning: unknown) => printed.push(warning);
    process.on('warning', onWarning);
    try {
      const outcome = await runScenario(loadScenario('scenarios/proper-endings.json'), { target: { name: 'warns', factory: warns, description: {} }, seed: 1, days: 1 });
      expect(outcome.result!.warnings).toEqual([{ kind: 'DiskWarning', count: 2, message: 'the disk is nearly full', firstStackLine: expect.stringMatching(/^at .*test\/sim\/output\.test\.ts:\d+:\d+\)?$/) }]);
      expect(summaryMarkdown({ command: 'run', outcomes: [outcome] })).toContain('| proper-endings | warns | 1 | DiskWarning | 2 | the disk is nearly full (at ');
    } finally {
      process.off('warning', onWarning);
    }
    expect(printed).toEqual([]);
  });

  it('a target leaking listeners on a shared signal raises MaxListenersExceededWarning, captured instead of printed', async () => {
    const outcome = await runScenario(loadScenario('scenarios/misbehaving-agent.json'), { target: builtInTarget('flaw:signal-shared-across-runs')!, seed: 1, stop: 'never' });
    const warning = outcome.result!.warnings.find((candidate) => candidate.kind === 'MaxListenersExceededWarning');
    expect(warning?.count).toBeGreaterThan(10);
    expect(warning?.firstStackLine).toMatch(/^at AgentRun\.begin \(sim\/engine\/agent\.ts:\d+:\d+\)$/);
  });
});
