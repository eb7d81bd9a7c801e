/**
 * Scenario files: traffic, faults, settings, length, seeds and the verdict expected of each
 * target, as data. `loadScenario` validates a file against scenarios/scenario.schema.json and
 * fills in defaults; every problem is an InputError naming the file, the line and the field.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import type { Ajv as AjvClass, ErrorObject, ValidateFunction } from 'ajv';
import { findNodeAtLocation, parseTree, type Node, type ParseError, printParseErrorCode } from '../../src/jsonc.ts';
import type { FlawName } from '../../src/baseline/flaws.ts';
import { InputError, lineOfOffset } from '../../src/input-error.ts';
import { checkedJsonText, lineAndColumn, readJsonText } from '../../src/json-text.ts';
import { PACKAGE_ROOT } from '../engine/package-root.ts';
import { DEFAULT_SETTINGS, MINUTE_MS, type RetentionSettings } from '../../src/settings.ts';
import { DEFAULT_AGENT, type AgentModel } from '../engine/agent.ts';
import type { DriverFaults, SessionEndRoute } from './driver.ts';
import type { InvariantName } from '../check/catalogue.ts';
import { recordingStats } from './replay.ts';
import { DEFAULT_WARMUP_CHECKPOINTS, DEFAULT_CHECKPOINT_EVERY_HOURS, checkpointCount } from '../heap-analysis/checkpoints.ts';
import { JUDGED_CHECKPOINTS_MIN } from '../heap-analysis/rule.ts';
import { DEFAULT_TRAFFIC, estimateHookEvents, hookEventCounts, HOUR_MS, MAX_HOOK_EVENTS, type TrafficModel } from '../engine/traffic.ts';

export const SCENARIO_SCHEMA_PATH = join(PACKAGE_ROOT, 'scenarios', 'scenario.schema.json');

export type Verdict = { readonly pass: true } | { readonly failsOn: readonly InvariantName[] };

export type ScenarioTraffic =
  | { readonly kind: 'model'; readonly model: Omit<TrafficModel, 'days'> }
  | { readonly kind: 'file'; readonly path: string; readonly repeat: number; readonly rate: number };

export interface WorkerMoment {
  readonly day: number;
  readonly hour: number;
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  /** The file it was read from, as given. */
  readonly file: string;
  readonly days: number;
  readonly seeds: readonly number[];
  readonly settings: RetentionSettings;
  readonly traffic: ScenarioTraffic;
  readonly agent: AgentModel;
  readonly faults: DriverFaults & { readonly workerRestarts: readonly WorkerMoment[]; readonly sleeps: readonly (WorkerMoment & { readonly hours: number })[] };
  readonly sessionEndRoute: SessionEndRoute;
  readonly end: 'drain' | 'shutdown';
  readonly sampleEveryMs: number;
  readonly expect: {
    readonly reference: Verdict;
    readonly baseline?: Verdict;
    readonly twin?: Verdict;
    readonly flaws: Readonly<Partial<Record<FlawName, Verdict>>>;
  };
  /** Heap-gate settings, read by the heap gate itself (sim/heap/plan.ts). */
  readonly heap?: Readonly<Record<string, unknown>>;
}

/** Defaults of the fields a scenario may leave out (every field but `name` and `traffic`). */
export const DEFAULT_DAYS = 7;
export const DEFAULT_SEEDS: readonly number[] = [1];

let validator: ValidateFunction | undefined;

/**
 * The schema's validator, made by the first scenario read: ajv is loaded then, not at import, so
 * that a check worker (which is handed its scenarios already read) starts without it.
 */
function validate(): ValidateFunction {
  if (!validator) {
    const { Ajv } = createRequire(import.meta.url)('ajv') as { Ajv: typeof AjvClass };
    validator = new Ajv({ allErrors: false, strict: true, strictTypes: false }).compile(JSON.parse(readFileSync(SCENARIO_SCHEMA_PATH, 'utf8')));
  }
  return validator;
}

export function loadScenario(file: string): Scenario {
  const scenario = parseScenario(readJsonText(file), file);
  if (scenario.traffic.kind === 'file') checkRecordedTraffic(scenario, file);
  return scenario;
}

/**
 * A scenario that replays a recording: the whole file is read once now (every line validated, and
 * its events counted against MAX_HOOK_EVENTS), so that a bad line is found before any run prints
 * a verdict.
 */
function checkRecordedTraffic(scenario: Scenario, file: string): void {
  if (scenario.traffic.kind !== 'file') return;
  const { events } = recordingStats(scenario.traffic.path);
  const played = events * scenario.traffic.repeat;
  if (played > MAX_HOOK_EVENTS) {
    throw new InputError(file, 0, 'traffic.repeat', `${scenario.traffic.repeat} plays ${scenario.traffic.path} (${events.toLocaleString('en-US')} events) as ${played.toLocaleString('en-US')} hook events, more than the ${MAX_HOOK_EVENTS.toLocaleString('en-US')} one run may play (MAX_HOOK_EVENTS)`);
  }
}

/** The smallest time a setting may be: below it, the simulator's millisecond rounding is the policy. */
export const MIN_SETTING_MS = 1_000;

/** Rules across fields the schema cannot state: times of at least 1 s, endings weights that are not all 0. */
function checkScenarioMeaning(raw: Record<string, any>, tree: Node, text: string, file: string): void {
  const at = (path: (string | number)[]) => lineOfOffset(text, (findNodeAtLocation(tree, path) ?? tree).offset);
  for (const field of ['ttlMinutes', 'generatorIdleTimeoutMinutes'] as const) {
    const minutes = raw.settings?.[field];
    if (typeof minutes === 'number' && minutes * MINUTE_MS < MIN_SETTING_MS) {
      throw new InputError(file, at(['settings', field]), `settings.${field}`, `is ${minutes} (${Math.round(minutes * MINUTE_MS * 1_000) / 1_000} ms), below the 1-second floor for a setting (MIN_SETTING_MS)`);
    }
  }
  const delay = raw.settings?.generatorRestartDelayMs;
  if (typeof delay === 'number' && delay > 0 && delay < MIN_SETTING_MS) {
    throw new InputError(file, at(['settings', 'generatorRestartDelayMs']), 'settings.generatorRestartDelayMs', `is ${delay}, below the 1-second floor for a setting (MIN_SETTING_MS); 0 means no delay`);
  }
  const endings = raw.traffic?.endings;
  if (endings && typeof endings === 'object' && Object.values(endings).every((weight) => weight === 0)) {
    throw new InputError(file, at(['traffic', 'endings']), 'traffic.endings', 'weights are all 0: at least one ending needs a weight above 0');
  }
}

export function parseScenario(source: string, file: string): Scenario {
  const text = checkedJsonText(source, file);
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { allowTrailingComma: false, disallowComments: true });
  if (errors.length > 0 || !tree) {
    const first = errors[0];
    const place = first ? lineAndColumn(text, first.offset) : { line: 1, column: 1 };
    throw new InputError(file, place.line, '', `is not valid JSON (${first ? `column ${place.column}: ${printParseErrorCode(first.error)}` : 'empty'})`);
  }
  const raw = JSON.parse(text) as Record<string, any>;
  const check = validate();
  if (!check(raw)) throw schemaError(check.errors ?? [], tree, text, file);
  checkFaultDays(raw, tree, text, file);
  checkScenarioMeaning(raw, tree, text, file);
  checkHeapCheckpoints(raw, tree, text, file);
  const scenario = build(raw, file);
  const node = findNodeAtLocation(tree, ['traffic']) ?? tree;
  checkScenarioSize(scenario, scenario.days, { file, line: lineOfOffset(text, node.offset), field: 'traffic' });
  return scenario;
}

/**
 * Refuses a model whose estimated hook events over `days` pass MAX_HOOK_EVENTS, naming the
 * numbers (`where`: the scenario's traffic, or the --days that lengthened it).
 */
export function checkScenarioSize(scenario: Scenario, days: number, where: { file: string; line: number; field: string }): void {
  if (scenario.traffic.kind !== 'model') return;
  const model = scenario.traffic.model;
  const events = estimateHookEvents(model, days);
  if (events <= MAX_HOOK_EVENTS) return;
  const most = hookEventCounts(model);
  throw new InputError(
    where.file,
    where.line,
    where.field,
    `makes up to ${events.toLocaleString('en-US')} hook events (${model.developers} developers × ${days} days × ${most.sessionsPerDay} sessions × (2 + ${most.promptsPerSession} prompts × (2 + ${most.toolUsesPerPrompt} tool uses)), at most 1.5 × each mean and at least 1 session and 1 prompt), more than the ${MAX_HOOK_EVENTS.toLocaleString('en-US')} one run may play (MAX_HOOK_EVENTS): fewer developers, days, sessions, prompts or tool uses`,
  );
}

function schemaError(errors: readonly ErrorObject[], tree: Node, text: string, file: string): InputError {
  // With allErrors off, ajv stops at the first failing keyword; combinators (if/oneOf) report
  // after their branch, so the most specific error is the deepest non-combinator one.
  const named = errors.find((error) => error.keyword === 'propertyNames');
  const specific = named ? [named] : errors.filter((error) => !['if', 'oneOf', 'anyOf'].includes(error.keyword));
  const error = [...(specific.length ? specific : errors)].sort((a, b) => b.instancePath.length - a.instancePath.length)[0]!;
  const path = error.instancePath.split('/').slice(1).map((part) => (/^\d+$/.test(part) ? Number(part) : part.replace(/~1/g, '/').replace(/~0/g, '~')));
  let field = path.join('.');
  let node = findNodeAtLocation(tree, path) ?? tree;
  let problem: string;
  switch (error.keyword) {
    case 'additionalProperties': {
      const extra = String(error.params.additionalProperty);
      field = field ? `${field}.${extra}` : extra;
      node = findNodeAtLocation(tree, [...path, extra])?.parent ?? node;
      problem = 'is not a known field (see scenarios/scenario.schema.json)';
      break;
    }
    case 'propertyNames': {
      const name = String(error.params.propertyName);
      const names = errors.find((other) => other.keyword === 'enum')?.params.allowedValues as unknown[] | undefined;
      field = field ? `${field}.${name}` : name;
      node = findNodeAtLocation(tree, [...path, name])?.parent ?? node;
      problem = `is not a known name${names ? `: expected one of ${names.map((value) => JSON.stringify(value)).join(', ')}` : ''}`;
      break;
    }
    case 'required':
      field = field ? `${field}.${String(error.params.missingProperty)}` : String(error.params.missingProperty);
      problem = 'is required';
      break;
    case 'const':
      problem = `expected ${JSON.stringify(error.params.allowedValue)} or {"failsOn": [invariant names]}, got ${JSON.stringify(valueAt(text, node))}`;
      break;
    case 'enum':
      problem = `expected one of ${(error.params.allowedValues as unknown[]).map((value) => JSON.stringify(value)).join(', ')}, got ${JSON.stringify(valueAt(text, node))}`;
      break;
    default:
      problem = `${error.message ?? 'is invalid'}, got ${JSON.stringify(valueAt(text, node))}`;
  }
  return new InputError(file, lineOfOffset(text, node.offset), field || '(top level)', problem);
}

/** A fault must fall within the scenario's days: one past the end would silently never happen. */
function checkFaultDays(raw: Record<string, any>, tree: Node, text: string, file: string): void {
  for (const list of ['workerRestarts', 'sleeps'] as const) {
    (raw.faults?.[list] ?? []).forEach((moment: WorkerMoment, index: number) => {
      if (moment.day < (raw.days ?? DEFAULT_DAYS)) return;
      const node = findNodeAtLocation(tree, ['faults', list, index, 'day'])!;
      throw new InputError(file, lineOfOffset(text, node.offset), `faults.${list}.${index}.day`, `must be below days (${raw.days ?? DEFAULT_DAYS}; days count from 0), got ${moment.day}`);
    });
  }
}

/** A heap section needs three checkpoints after its warm-up inside the traffic, or the growth rule reads nothing. */
function checkHeapCheckpoints(raw: Record<string, any>, tree: Node, text: string, file: string): void {
  if (!raw.heap) return;
  const everyHours = raw.heap.checkpointEveryHours ?? DEFAULT_CHECKPOINT_EVERY_HOURS;
  const warmup = raw.heap.warmupCheckpoints ?? DEFAULT_WARMUP_CHECKPOINTS;
  const checkpoints = checkpointCount(raw.days ?? DEFAULT_DAYS, everyHours * HOUR_MS);
  if (checkpoints - warmup >= JUDGED_CHECKPOINTS_MIN) return;
  const node = findNodeAtLocation(tree, ['heap', raw.heap.checkpointEveryHours !== undefined ? 'checkpointEveryHours' : 'expect'])!;
  throw new InputError(
    file,
    lineOfOffset(text, node.offset),
    'heap',
    `gives ${checkpoints} checkpoints inside ${raw.days ?? DEFAULT_DAYS} days (every ${everyHours} h), ${warmup} of them warm-up: the growth rule needs ${JUDGED_CHECKPOINTS_MIN} after the warm-up (more days or more frequent checkpoints)`,
  );
}

function valueAt(text: string, node: Node): unknown {
  return JSON.parse(text.slice(node.offset, node.offset + node.length));
}

function build(raw: Record<string, any>, file: string): Scenario {
  const settings = raw.settings ?? {};
  const faults = raw.faults ?? {};
  const expect = raw.expect ?? {};
  const traffic: ScenarioTraffic =
    'file' in raw.traffic
      ? { kind: 'file', path: resolve(dirname(file), raw.traffic.file), repeat: raw.traffic.repeat ?? 1, rate: raw.traffic.rate ?? 1 }
      : { kind: 'model', model: { ...withoutDays(DEFAULT_TRAFFIC), ...raw.traffic } };
  return {
    name: raw.name,
    description: raw.description ?? '',
    file,
    days: raw.days ?? DEFAULT_DAYS,
    seeds: raw.seeds ?? DEFAULT_SEEDS,
    settings: Object.freeze({
      ttlMs: settings.ttlMinutes !== undefined ? Math.round(settings.ttlMinutes * MINUTE_MS) : DEFAULT_SETTINGS.ttlMs,
      maxActiveSessions: settings.maxActiveSessions ?? DEFAULT_SETTINGS.maxActiveSessions,
      maxHistoryMessages: settings.maxHistoryMessages ?? DEFAULT_SETTINGS.maxHistoryMessages,
      maxHistoryTokens: settings.maxHistoryTokens ?? DEFAULT_SETTINGS.maxHistoryTokens,
      generatorIdleTimeoutMs:
        settings.generatorIdleTimeoutMinutes !== undefined ? Math.round(settings.generatorIdleTimeoutMinutes * MINUTE_MS) : DEFAULT_SETTINGS.generatorIdleTimeoutMs,
      generatorRestartDelayMs: settings.generatorRestartDelayMs ?? DEFAULT_SETTINGS.generatorRestartDelayMs,
    }),
    traffic,
    agent: { ...DEFAULT_AGENT, ...(raw.agent ?? {}) },
    faults: {
      crashProbability: faults.generatorCrashProbability ?? 0,
      hangProbability: faults.generatorHangProbability ?? 0,
      duplicateHookProbability: faults.duplicateHookProbability ?? 0,
      leavesAbortListener: faults.agentLeavesAbortListener ?? false,
      runsAfterAbortMs: Math.round(faults.agentRunsAfterAbortMs ?? 0),
      keepsContext: faults.agentKeepsContext ?? false,
      abortLagMs: faults.generatorAbortLagMs ?? 0,
      workerRestarts: faults.workerRestarts ?? [],
      sleeps: faults.sleeps ?? [],
    },
    sessionEndRoute: raw.worker?.sessionEndRoute ?? 'none',
    end: raw.end ?? 'drain',
    sampleEveryMs: Math.round((raw.sampleEveryMinutes ?? 15) * MINUTE_MS),
    expect: {
      reference: verdict(expect.reference ?? 'pass'),
      ...(expect.baseline !== undefined ? { baseline: verdict(expect.baseline) } : {}),
      ...(expect.twin !== undefined ? { twin: verdict(expect.twin) } : {}),
      flaws: Object.fromEntries(Object.entries(expect.flaws ?? {}).map(([name, value]) => [name, verdict(value)])),
    },
    ...(raw.heap !== undefined ? { heap: raw.heap } : {}),
  };
}

function verdict(value: unknown): Verdict {
  return value === 'pass' ? { pass: true } : { failsOn: (value as { failsOn: InvariantName[] }).failsOn };
}

function withoutDays(model: TrafficModel): Omit<TrafficModel, 'days'> {
  const { days: _days, ...rest } = model;
  return rest;
}

/** Every flaw name the schema knows, for the test that keeps schema and code in step. */
export function schemaEnums(): { flaws: string[]; invariants: string[] } {
  const schema = JSON.parse(readFileSync(SCENARIO_SCHEMA_PATH, 'utf8'));
  return { flaws: schema.definitions.flawName.enum, invariants: schema.definitions.invariantName.enum };
}
