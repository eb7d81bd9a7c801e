/**
 * Every named flaw breaks at least one of the reference's rules: the flaw table. Each rule check
 * runs against the leaky implementation with that one flaw on (and against the 8.5.7 baseline,
 * all of its flaws on). Beside it, what the gate alone catches: the scenarios (scenarios/*.json)
 * run as `leaksim check` runs them, against each flaw they state a verdict for. For a third-party
 * target the gate is all there is, so every flaw must be caught there too. The table is printed
 * and written to reports/flaw-table.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { BASELINE_FLAWS, FLAW_NAMES, type FlawName } from '../../src/baseline/flaws.ts';
import { leakyTarget } from '../../src/baseline/leaky-session-manager.ts';
import type { SynchronousTargetFactory } from '../../src/contract.ts';
import { scenarioFiles, targetsOf } from '../../sim/cli/check.ts';
import { flawCoverage, type FlawCoverage } from '../../sim/report/report.ts';
import { builtInScenarioDir } from '../../sim/runs/scenario-files.ts';
import { runScenario, type RunOutcome } from '../../sim/runs/run.ts';
import { loadScenario } from '../../sim/runs/scenario.ts';
import { builtInTarget } from '../../sim/targets/targets.ts';
import { RULES } from './rules.ts';

/** The rule each flaw was written against: it must be among the ones the flaw breaks. */
const DESIGNED_TO_BREAK: Record<FlawName, string> = {
  'no-idle-cleanup': 'idle-expires-after-ttl',
  'unbounded-history': 'history-bounded',
  'trim-drops-init-prompt': 'init-prompt-pinned',
  'no-session-cap': 'cap-evicts-idlest',
  'duplicate-generator': 'one-generator-per-session',
  'lose-claimed-on-crash': 'crash-requeues-claimed-work',
  'no-generator-watchdog': 'hung-generator-aborted',
  'evicts-busy-session': 'busy-never-evicted',
  'cleanup-not-cancelled': 'new-work-cancels-cleanup',
  'timer-kept-on-delete': 'delete-releases-everything',
  'listener-kept-on-delete': 'delete-releases-everything',
  'signal-shared-across-runs': 'fresh-signal-per-run',
  'evicts-latest-idle': 'cap-evicts-idlest',
  'requeue-at-back': 'requeued-work-first',
  'restart-without-delay': 'restart-after-delay',
  'watchdog-from-start': 'watchdog-spares-active-generator',
  'trim-leaves-orphan-reply': 'no-orphan-reply-after-trim',
  'expirations-uncounted': 'stats-count-what-happened',
  'shutdown-does-not-wait': 'shutdown-waits-for-generators',
  'over-trim': 'history-keeps-what-the-bound-allows',
  'ttl-read-as-seconds': 'idle-expires-after-ttl',
  'wakeup-not-rearmed': 'earlier-deadline-expires-on-time',
  'tokens-drift-on-trim': 'history-tokens-exact',
  'recovery-skips-in-flight': 'restart-resumes-in-flight-work',
};

/**
 * Flaws the model does not see. None today: every flaw breaks something the model holds. Pinned
 * here so that the column of the table cannot silently shrink.
 */
const MODEL_BLIND_TO: readonly FlawName[] = [];

interface Row {
  readonly target: string;
  readonly broken: { readonly rule: string; readonly message: string }[];
}

async function brokenRules(factory: SynchronousTargetFactory): Promise<Row['broken']> {
  const broken: Row['broken'] = [];
  for (const rule of RULES) {
    try {
      await rule.check(factory);
    } catch (error) {
      broken.push({ rule: rule.name, message: (error as Error).message.split('\n')[0]! });
    }
  }
  return broken;
}

const rows: Row[] = [];
let gate: FlawCoverage[] = [];
let gateOutcomes: RunOutcome[] = [];

/** The scenarios in which matches-model (the executable model, sim/check/model.ts) caught the flaw, in the gate's own runs. */
function caughtByModel(target: string): string[] {
  const scenarios = gateOutcomes.filter((outcome) => outcome.target === target && (outcome.result?.violationCounts['matches-model'] ?? 0) > 0).map((outcome) => outcome.scenario);
  return [...new Set(scenarios)];
}

/** What `leaksim check` alone catches: every scenario against every flaw it expects to fail, for each seed. */
async function gateCoverage(): Promise<FlawCoverage[]> {
  const outcomes: RunOutcome[] = gateOutcomes;
  for (const scenario of scenarioFiles(builtInScenarioDir()).map((file) => loadScenario(file))) {
    for (const target of targetsOf(scenario).filter((name) => name.startsWith('flaw:'))) {
      for (const seed of scenario.seeds) outcomes.push(await runScenario(scenario, { target: builtInTarget(target)!, seed, stop: 'verdict' }));
    }
  }
  return flawCoverage(outcomes);
}

describe('the gate alone (leaksim check)', () => {
  it('catches every flaw in some scenario', async () => {
    gate = await gateCoverage();
    expect(gate.filter((coverage) => coverage.caughtBy.length === 0).map((coverage) => coverage.flaw)).toEqual([]);
  });

  it('matches-model, the executable model, catches every flaw in the same runs', () => {
    expect(FLAW_NAMES.filter((flaw) => caughtByModel(`flaw:${flaw}`).length === 0)).toEqual(MODEL_BLIND_TO);
  });
});

describe('every flaw breaks at least one rule', () => {
  for (const flaw of FLAW_NAMES) {
    it(`flaw:${flaw} breaks ${DESIGNED_TO_BREAK[flaw]}`, async () => {
      const broken = await brokenRules(leakyTarget([flaw]));
      rows.push({ target: `flaw:${flaw}`, broken });
      expect(broken.map((entry) => entry.rule)).toContain(DESIGNED_TO_BREAK[flaw]);
    });
  }

  it('the 8.5.7 baseline breaks the rule of each of its flaws', async () => {
    const broken = await brokenRules(leakyTarget(BASELINE_FLAWS));
    rows.push({ target: 'baseline', broken });
    expect(broken.map((entry) => entry.rule)).toEqual(expect.arrayContaining(BASELINE_FLAWS.map((flaw) => DESIGNED_TO_BREAK[flaw])));
  });
});

afterAll(() => {
  const caughtByGate = (target: string) => gate.find((coverage) => `flaw:${coverage.flaw}` === target)?.caughtBy ?? [];
  const flawRows = rows.filter((row) => row.target.startsWith('flaw:'));
  const lines = [
    '# Flaw table: which of the reference\'s rules each flaw breaks, and what `leaksim check` alone catches',
    '',
    'Generated by `npx vitest run test/src/flaw-table.test.ts`. Each rule is a check in test/src/rules.ts, run under fake timers',
    'against the reference\'s own API. The last column is the gate alone: the scenarios run as `leaksim check` runs them, judged by',
    'the simulator\'s invariants only, which is all a third-party target gets.',
    '',
    `Rule checks catch ${flawRows.filter((row) => row.broken.length > 0).length}/${flawRows.length} flaws; \`leaksim check\` alone catches ${flawRows.filter((row) => caughtByGate(row.target).length > 0).length}/${flawRows.length}; of those, \`matches-model\` (the executable model) catches ${flawRows.filter((row) => caughtByModel(row.target).length > 0).length}/${flawRows.length} in the same runs.`,
    '',
    '| target | rules broken | first failure | caught by `leaksim check` (scenario: invariants) | caught by `matches-model` (scenarios) |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((row) => {
      const flawRow = row.target.startsWith('flaw:');
      const byGate = flawRow ? caughtByGate(row.target).map((by) => `${by.scenario}: ${by.invariant}`).join('; ') || '**not caught**' : '(see the scenarios\' baseline verdicts)';
      const byModel = flawRow ? caughtByModel(row.target).join(', ') || '**not caught**' : '';
      return `| ${row.target} | ${row.broken.map((entry) => entry.rule).join(', ') || '**none**'} | ${row.broken[0]?.message.replaceAll('|', '\\|') ?? ''} | ${byGate} | ${byModel} |`;
    }),
    '',
  ];
  mkdirSync('reports', { recursive: true });
  writeFileSync('reports/flaw-table.md', lines.join('\n'));
  console.log(lines.join('\n'));
});
