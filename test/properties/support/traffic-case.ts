/**
 * Traffic-level properties: fast-check generates a short run of hook traffic and the retention
 * settings; the simulator plays it exactly as `leaksim replay` would, with every invariant of
 * sim/check/invariants.ts checked after every event. What fails here is therefore already a traffic file
 * plus a settings file: the counterexample is written as both, with the one command that replays it.
 *
 * Replay runs the simulated agent without faults (no crash or hang; only worker restarts and sleeps,
 * which are traffic), with SessionEnd calling the complete route (`--session-end complete`), so the
 * generated cases stay within what a traffic file can say. Flaws that need a hung generator to show
 * are left to the model-based property, whose counterexamples are command stories instead.
 */
import fc from 'fast-check';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TargetDescription, TargetFactory } from '../../../src/contract.ts';
import { parseSettings, type RetentionSettings } from '../../../src/settings.ts';
import { DEFAULT_AGENT } from '../../../sim/engine/agent.ts';
import { main } from '../../../sim/cli/main.ts';
import { collectOutput } from '../../../sim/cli/output.ts';
import { simulate, type SimulationResult } from '../../../sim/runs/driver.ts';
import type { HookEvent } from '../../../sim/engine/events.ts';
import { ORIGIN_EPOCH_MS } from '../../../sim/runs/run.ts';
import { writeTrafficFile } from '../../../sim/traffic-file/writer.ts';
import { InvariantViolation } from './world.ts';

/** What `leaksim replay` uses and the traffic-level properties must match (sim/cli/replay.ts). */
export const REPLAY_SAMPLE_EVERY_MS = 15 * 60_000;
export const REPLAY_SESSION_END = 'complete';

export const TRAFFIC_SESSIONS = ['s1', 's2', 's3', 's4'] as const;

/** The settings a case runs with, as the claude-mem settings file keys (whole minutes, as the file requires). */
export interface CaseSettings {
  readonly ttlMinutes: number;
  readonly maxActiveSessions: number;
  readonly maxHistoryMessages: number;
  readonly maxHistoryTokens: number;
}

export type StepEvent =
  | { readonly kind: 'prompt'; readonly session: string; readonly promptChars: number }
  | { readonly kind: 'tool-use'; readonly session: string; readonly inputChars: number; readonly responseChars: number }
  | { readonly kind: 'stop'; readonly session: string; readonly messageChars: number }
  | { readonly kind: 'session-end'; readonly session: string }
  | { readonly kind: 'worker-restart' }
  | { readonly kind: 'sleep'; readonly durationMs: number };

export interface TrafficStep {
  /** Time since the previous event (or the origin). */
  readonly gapMs: number;
  readonly event: StepEvent;
}

export interface TrafficCase {
  readonly settings: CaseSettings;
  /** The simulated agent's latency seed: `leaksim replay --seed`. */
  readonly seed: number;
  readonly steps: readonly TrafficStep[];
}

export function settingsJson(settings: CaseSettings): string {
  return `${JSON.stringify(
    {
      CLAUDE_MEM_SESSION_TTL_MINUTES: String(settings.ttlMinutes),
      CLAUDE_MEM_MAX_ACTIVE_SESSIONS: String(settings.maxActiveSessions),
      CLAUDE_MEM_MAX_CONVERSATION_HISTORY: String(settings.maxHistoryMessages),
      CLAUDE_MEM_MAX_HISTORY_TOKENS: String(settings.maxHistoryTokens),
    },
    null,
    2,
  )}\n`;
}

/** Through the same parser `--settings` uses, so the property runs what a replay would. */
export function retentionSettings(settings: CaseSettings): RetentionSettings {
  return parseSettings(settingsJson(settings), '<generated settings>');
}

export function caseEvents(trafficCase: TrafficCase): HookEvent[] {
  let atMs = 0;
  return trafficCase.steps.map(({ gapMs, event }): HookEvent => {
    atMs += gapMs;
    switch (event.kind) {
      case 'worker-restart':
        return { atMs, kind: 'worker-restart' };
      case 'sleep':
        return { atMs, kind: 'sleep', durationMs: event.durationMs };
      case 'prompt':
        return { atMs, kind: 'prompt', session: event.session, project: 'demo', promptChars: event.promptChars };
      case 'tool-use':
        return { atMs, kind: 'tool-use', session: event.session, project: 'demo', toolName: 'Read', inputChars: event.inputChars, responseChars: event.responseChars };
      case 'stop':
        return { atMs, kind: 'stop', session: event.session, project: 'demo', messageChars: event.messageChars };
      case 'session-end':
        return { atMs, kind: 'session-end', session: event.session, project: 'demo', reason: 'prompt_input_exit' };
    }
  });
}

/**
 * Plays a case as `leaksim replay <file> --target … --settings … --session-end complete --seed …` does, stopping at the first violation.
 * The target follows the whole executable model unless told otherwise (as leaksim's own targets declare), so matches-model
 * judges every case against sim/check/model.ts and a shrunk counterexample tells the model's story.
 */
export function simulateCase(trafficCase: TrafficCase, target: TargetFactory, description: TargetDescription = { followsModel: true }): Promise<SimulationResult> {
  return simulate({
    description,
    seed: trafficCase.seed,
    settings: retentionSettings(trafficCase.settings),
    target,
    traffic: caseEvents(trafficCase),
    originEpochMs: ORIGIN_EPOCH_MS,
    agent: DEFAULT_AGENT,
    faults: { crashProbability: 0, hangProbability: 0, duplicateHookProbability: 0 },
    sessionEndRoute: REPLAY_SESSION_END,
    end: 'drain',
    sampleEveryMs: REPLAY_SAMPLE_EVERY_MS,
    stopWhen: () => true,
  });
}

/** Throws the run's first violation, named by its invariant. */
export function assertPassed(result: SimulationResult): void {
  const first = result.violations[0];
  if (first) throw new InvariantViolation(first.invariant, `${first.detail} (at t=${first.atMs} ms)`);
}

// ---------------------------------------------------------------------------------------------
// Generators. Small settings (a TTL of minutes, a cap of a few sessions, histories of a few
// messages) so that a few dozen events reach every limit; gaps from "at once" to "past the TTL".
// ---------------------------------------------------------------------------------------------

export const caseSettingsArbitrary: fc.Arbitrary<CaseSettings> = fc.record({
  // 60 minutes too: a long TTL is what lets leaked timers pile up between samples.
  ttlMinutes: fc.constantFrom(1, 2, 3, 5, 60),
  maxActiveSessions: fc.integer({ min: 1, max: 4 }),
  maxHistoryMessages: fc.integer({ min: 3, max: 8 }),
  maxHistoryTokens: fc.integer({ min: 100, max: 3_000 }),
});

const gapMs = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 5_000 }) },
  { weight: 3, arbitrary: fc.integer({ min: 5_000, max: 180_000 }) },
  { weight: 2, arbitrary: fc.integer({ min: 180_000, max: 3_600_000 }) },
);

const sessionId = fc.constantFrom(...TRAFFIC_SESSIONS);

const stepEvent: fc.Arbitrary<StepEvent> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('prompt' as const), session: sessionId, promptChars: fc.integer({ min: 1, max: 2_000 }) }) },
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('tool-use' as const), session: sessionId, inputChars: fc.integer({ min: 0, max: 1_500 }), responseChars: fc.integer({ min: 0, max: 3_000 }) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('stop' as const), session: sessionId, messageChars: fc.integer({ min: 0, max: 1_000 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('session-end' as const), session: sessionId }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'worker-restart' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('sleep' as const), durationMs: fc.integer({ min: 60_000, max: 7_200_000 }) }) },
);

export const MAX_TRAFFIC_STEPS = 40;

export const trafficCaseArbitrary: fc.Arbitrary<TrafficCase> = fc.record({
  settings: caseSettingsArbitrary,
  seed: fc.nat(1_000),
  steps: fc.array(fc.record({ gapMs, event: stepEvent }), { minLength: 1, maxLength: MAX_TRAFFIC_STEPS, size: 'medium' }),
});

// ---------------------------------------------------------------------------------------------
// Counterexamples people can use.
// ---------------------------------------------------------------------------------------------

export const COUNTEREXAMPLE_DIR = 'reports/counterexamples';

export interface WrittenCounterexample {
  readonly trafficFile: string;
  readonly settingsFile: string;
  readonly events: number;
  /** The one command that replays it. */
  readonly replay: string;
  /** The same, as arguments for the CLI's `main` (what the test runs). */
  readonly replayArgs: readonly string[];
}

export function targetSlug(target: string): string {
  return target.replace(/[^a-z0-9-]+/gi, '-').toLowerCase();
}

/**
 * Writes the shrunk case as `<dir>/<property>-<target>.jsonl` (traffic format v1, sizes only: the
 * simulator makes content of those sizes) and `<property>-<target>.settings.json`.
 */
export function writeCounterexample(property: string, target: string, trafficCase: TrafficCase, dir = COUNTEREXAMPLE_DIR): WrittenCounterexample {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${property}-${targetSlug(target)}`);
  const trafficFile = `${base}.jsonl`;
  const settingsFile = `${base}.settings.json`;
  const events = caseEvents(trafficCase);
  writeTrafficFile(trafficFile, { format: 'leaksim-traffic', version: 1, source: `property ${property}`, timeOrigin: new Date(ORIGIN_EPOCH_MS).toISOString(), redaction: 'hash' }, events);
  writeFileSync(settingsFile, settingsJson(trafficCase.settings));
  const replayArgs = ['replay', trafficFile, '--target', target, '--settings', settingsFile, '--session-end', REPLAY_SESSION_END, '--seed', String(trafficCase.seed)];
  return { trafficFile, settingsFile, events: events.length, replay: `npx leaksim ${replayArgs.join(' ')}`, replayArgs };
}

/** What a failing traffic-level property prints: the invariant, the files, the replay command, and fast-check's seed and path. */
export function describeCounterexample(property: string, target: string, invariant: string, written: WrittenCounterexample, details: { seed: number; counterexamplePath: string | null }): string {
  return [
    `counterexample: property ${property} on ${target} violated ${invariant} (${written.events} events after shrinking)`,
    `  traffic:    ${written.trafficFile}`,
    `  settings:   ${written.settingsFile}`,
    `  replay:     ${written.replay}`,
    `  fast-check: seed ${details.seed}, path "${details.counterexamplePath ?? ''}" (LEAKSIM_PROPERTY_SEED=${details.seed} LEAKSIM_PROPERTY_PATH="${details.counterexamplePath ?? ''}" goes straight to it)`,
  ].join('\n');
}

/** Runs the command a counterexample printed, through the CLI function, and returns the first invariant it reports. */
export async function replayPrinted(replay: string): Promise<{ code: number; invariant: string | undefined; stdout: string }> {
  const args = replay.replace(/^npx leaksim /, '').split(' ');
  const output = collectOutput();
  const code = await main([...args, '--json', '--out', mkdtempSync(join(tmpdir(), 'leaksim-replay-'))], output);
  const summary = JSON.parse(output.stdout.join('\n')) as { runs: { firstViolation: { invariant: string } | null }[] };
  return { code, invariant: summary.runs[0]?.firstViolation?.invariant, stdout: output.stdout.join('\n') };
}
