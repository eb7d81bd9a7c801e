/**
 * Detection power: every property, run against the leaky baseline and against each named flaw
 * alone, with fixed fast-check seeds and fast-check's default budget of 100 runs. For each target
 * it records which property failed (in the order below: the replayable one first), on which
 * invariant, after how many runs, and how small fast-check shrank the counterexample. The twin
 * (the leaky implementation with no flaw) is the control: no property may fail on it.
 */
import fc from 'fast-check';
// The model-based and race properties call the routes by hand: leaksim's own targets answer at once.
import type { SynchronousTargetFactory } from '../../../src/contract.ts';
import { BASELINE_FLAWS, FLAW_NAMES, FLAWS } from '../../../src/baseline/flaws.ts';
import { builtInTarget, type NamedTarget } from '../../../sim/targets/targets.ts';
import { checkHookTraffic, HOOK_TRAFFIC, modelBasedProperty, type TrafficFailure } from './properties.ts';
import { raceProperty } from './races.ts';
import { DEFAULT_RUN_BUDGET } from './runs.ts';
import { caseEvents } from './traffic-case.ts';
import { runGenerated, WHOLE_RUN, wholeRunProperty, writeScenarioCounterexample, type GeneratedScenario } from './whole-run.ts';
import { InvariantViolation } from './world.ts';

/** One fixed seed for every check: the table is a measurement and must not move between runs. */
export const DETECTION_SEED = 1;

export const PROPERTY_ORDER = [HOOK_TRAFFIC, 'model-based', 'races', WHOLE_RUN] as const;
export type PropertyName = (typeof PROPERTY_ORDER)[number];

export interface Detection {
  readonly property: PropertyName;
  readonly caught: boolean;
  readonly invariant: string | undefined;
  /** Runs up to and including the first failure (or all runs when none failed). */
  readonly runs: number;
  readonly shrinks: number;
  /** Size of the shrunk counterexample: events (traffic, whole run), commands (model-based) or scheduled actions (races). */
  readonly size: number | undefined;
  readonly sizeUnit: string;
  /** How to replay the counterexample. */
  readonly replay: string | undefined;
  /** For hook traffic: the written files and the replay arguments, so the test can run them. */
  readonly trafficFailure?: TrafficFailure;
  readonly elapsedMs: number;
}

export interface TargetDetections {
  readonly target: string;
  readonly description: string;
  readonly detections: readonly Detection[];
}

function invariantOf(error: unknown): string {
  return error instanceof InvariantViolation ? error.invariant : `error: ${String(error).slice(0, 80)}`;
}

/** Commands that ran in a shrunk model-based counterexample (fast-check prints those, comma-separated). */
function commandCount(commands: unknown): number {
  const story = String(commands).replace(/\/\*.*\*\//, '').trim();
  return story === '' ? 0 : story.split(',').length;
}

const parameters = { seed: DETECTION_SEED, numRuns: DEFAULT_RUN_BUDGET } as const;

/** The parts of a detection every property reports the same way. */
function fromDetails(property: PropertyName, details: { failed: boolean; numRuns: number; numShrinks: number }, invariant: string | undefined, startedMs: number) {
  return { property, caught: details.failed, invariant, runs: details.numRuns, shrinks: details.numShrinks, elapsedMs: Math.round(performance.now() - startedMs) };
}

export async function detect(target: NamedTarget, property: PropertyName): Promise<Detection> {
  const startedMs = performance.now();
  switch (property) {
    case HOOK_TRAFFIC: {
      const { details, failure } = await checkHookTraffic(target, parameters);
      return {
        ...fromDetails(property, details, failure?.invariant, startedMs),
        size: details.counterexample ? caseEvents(details.counterexample[0]).length : undefined,
        sizeUnit: 'events',
        replay: failure?.written.replay,
        ...(failure ? { trafficFailure: failure } : {}),
      };
    }
    case 'model-based': {
      const details = await fc.check(modelBasedProperty(target.factory as SynchronousTargetFactory), parameters);
      const story = details.counterexample ? String(details.counterexample[2]).replace(/\s*\/\*.*\*\//, '') : undefined;
      return {
        ...fromDetails(property, details, details.failed ? invariantOf(details.errorInstance) : undefined, startedMs),
        size: details.counterexample ? commandCount(details.counterexample[2]) : undefined,
        sizeUnit: 'commands',
        replay: story === undefined ? undefined : `fast-check seed ${details.seed}, path "${details.counterexamplePath}": ${story}`,
      };
    }
    case 'races': {
      const details = await fc.check(raceProperty(target.factory as SynchronousTargetFactory), parameters);
      return {
        ...fromDetails(property, details, details.failed ? invariantOf(details.errorInstance) : undefined, startedMs),
        // The leading prompt every race starts with, plus the generated actions.
        size: details.counterexample ? 1 + details.counterexample[2].length : undefined,
        sizeUnit: 'actions',
        replay: details.failed ? `fast-check seed ${details.seed}, path "${details.counterexamplePath}"` : undefined,
      };
    }
    case WHOLE_RUN: {
      const details = await fc.check(wholeRunProperty(target), parameters);
      let size: number | undefined;
      let replay: string | undefined;
      if (details.counterexample) {
        const generated: GeneratedScenario = details.counterexample[0];
        const outcome = await runGenerated(generated, target);
        size = outcome.result ? Object.values(outcome.result.hookEvents).reduce((sum, count) => sum + count, 0) : undefined;
        replay = writeScenarioCounterexample(target.name, generated).run;
      }
      return { ...fromDetails(property, details, details.failed ? invariantOf(details.errorInstance) : undefined, startedMs), size, sizeUnit: 'hook events', replay };
    }
  }
}

export const DETECTION_TARGETS: readonly { readonly target: string; readonly description: string }[] = [
  { target: 'baseline', description: `every 8.5.7 flaw (${BASELINE_FLAWS.join(', ')})` },
  ...FLAW_NAMES.map((flaw) => ({ target: `flaw:${flaw}`, description: FLAWS[flaw] })),
];

export async function detectAll(targets = DETECTION_TARGETS, properties: readonly PropertyName[] = PROPERTY_ORDER): Promise<TargetDetections[]> {
  const rows: TargetDetections[] = [];
  for (const { target, description } of targets) {
    const named = builtInTarget(target)!;
    const detections: Detection[] = [];
    for (const property of properties) detections.push(await detect(named, property));
    rows.push({ target, description, detections });
  }
  return rows;
}

export function firstCatch(row: TargetDetections): Detection | undefined {
  return row.detections.find((detection) => detection.caught);
}

/** The table as Markdown: the headline (first property to catch each flaw), then the full matrix. */
export function detectionMarkdown(rows: readonly TargetDetections[], control: TargetDetections | undefined): string {
  const lines = [
    '# Property detection power',
    '',
    `Each property run against the leaky baseline and each flaw alone, fast-check seed ${DETECTION_SEED}, at most ${DEFAULT_RUN_BUDGET} runs (fast-check's default).`,
    `Properties are tried in this order: ${PROPERTY_ORDER.join(', ')}; "caught by" is the first that failed.`,
    'Runs needed: runs up to and including the first failing one. Shrunk size: events in the traffic file (hook-traffic), commands (model-based), scheduled actions (races), hook events (whole-run).',
    '',
    '| flaw | caught by | invariant | runs needed | shrunk counterexample |',
    '| --- | --- | --- | ---: | --- |',
  ];
  for (const row of rows) {
    const first = firstCatch(row);
    lines.push(first ? `| ${row.target} | ${first.property} | ${first.invariant} | ${first.runs} | ${first.size} ${first.sizeUnit} |` : `| ${row.target} | **not caught** | | | |`);
  }
  lines.push('', '## Every property against every target', '', `| target | ${PROPERTY_ORDER.join(' | ')} |`, `| --- | ${PROPERTY_ORDER.map(() => '---').join(' | ')} |`);
  for (const row of [...rows, ...(control ? [control] : [])]) {
    const cells = row.detections.map((detection) => (detection.caught ? `${detection.invariant} (run ${detection.runs}, ${detection.size} ${detection.sizeUnit})` : `passed ${detection.runs} runs`));
    lines.push(`| ${row.target}${row === control ? ' (control)' : ''} | ${cells.join(' | ')} |`);
  }
  lines.push('', '## Replaying the counterexamples', '');
  for (const row of rows) {
    for (const detection of row.detections) {
      if (detection.replay && (detection.property === HOOK_TRAFFIC || detection.property === WHOLE_RUN)) lines.push(`- ${row.target}, ${detection.property} (${detection.invariant}): \`${detection.replay}\``);
    }
  }
  lines.push('', 'Model-based and race counterexamples are command stories (a hung generator cannot be written in a traffic file); fast-check\'s seed and path replay them:', '');
  for (const row of rows) {
    const first = firstCatch(row);
    if (first && (first.property === 'model-based' || first.property === 'races')) lines.push(`- ${row.target}, ${first.property} (${first.invariant}): ${first.replay}`);
  }
  lines.push('');
  return `${lines.join('\n')}`;
}
