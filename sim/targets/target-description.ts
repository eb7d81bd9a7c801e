/**
 * A target's declarations (src/contract.ts, `TargetDescription`): checked once when an adapter is
 * loaded, then read by the driver and the checker. An empty description is leaksim's reference
 * semantics; each field a target declares changes one judgement, and every message that depends
 * on a declaration names it (`declaration`).
 */
import type { HeapMatcher, TargetDescription } from '../../src/contract.ts';
import { MODEL_PARTS } from '../check/model.ts';
import { InputError } from '../../src/input-error.ts';
import { DEFAULT_SETTINGS, type RetentionSettings } from '../../src/settings.ts';
import { INVARIANTS } from '../check/catalogue.ts';

/** The description of a target that declares nothing. */
export const NO_DECLARATIONS: TargetDescription = Object.freeze({});

const FIELDS = ['pinnedPrompt', 'queue', 'listenersPerSession', 'fixedSettings', 'skippedTools', 'invariantsOff', 'historyEmptyUntilGenerator', 'followsModel', 'heap'] as const;

/** The parts of the model a target may follow (sim/check/model.ts). */
const MODEL_PART_NAMES: readonly unknown[] = MODEL_PARTS;

/** Listeners one session may hold when the target declares nothing. */
export const DEFAULT_LISTENERS_PER_SESSION = 1;

/** The settings the checker judges with: the scenario's (or the settings file's), overridden by what the target fixes. */
export function judgedSettings(settings: RetentionSettings, description: TargetDescription): RetentionSettings {
  return description.fixedSettings ? { ...settings, ...description.fixedSettings } : settings;
}

/** The settings a target fixes that differ from the ones it was given, as `{ field: [given, fixed] }`, in field order. */
export function overriddenSettings(settings: RetentionSettings, description: TargetDescription): Record<string, { readonly given: number; readonly fixed: number }> {
  const overridden: Record<string, { given: number; fixed: number }> = {};
  for (const field of Object.keys(DEFAULT_SETTINGS) as (keyof RetentionSettings)[]) {
    const fixed = description.fixedSettings?.[field];
    if (fixed !== undefined && fixed !== settings[field]) overridden[field] = { given: settings[field], fixed };
  }
  return overridden;
}

/**
 * Checks an adapter module's `description` export. Throws an InputError naming the module and
 * the field: a typo in a declaration must not silently keep the default.
 */
export function parseDescription(value: unknown, file: string): TargetDescription {
  if (value === undefined) return NO_DECLARATIONS;
  const fail = (field: string, problem: string): never => {
    throw new InputError(file, 0, field ? `description.${field}` : 'description', problem);
  };
  if (!isObject(value)) return fail('', 'must be an object (see docs/targets.md, "Adapting a target")');
  for (const key of Object.keys(value)) if (!(FIELDS as readonly string[]).includes(key)) fail(key, `is not a declaration; expected one of ${FIELDS.join(', ')}`);
  const description = value as Record<string, unknown>;
  const oneOf = (field: string, allowed: readonly unknown[]) => {
    if (description[field] !== undefined && !allowed.includes(description[field])) fail(field, `must be ${allowed.map((item) => `'${item}'`).join(' or ')}, got ${JSON.stringify(description[field])}`);
  };
  oneOf('pinnedPrompt', ['latest', 'first']);
  oneOf('queue', ['persisted', 'memory']);
  const listeners = description.listenersPerSession;
  if (listeners !== undefined && !(Number.isInteger(listeners) && (listeners as number) >= 1 && (listeners as number) <= 1_000)) fail('listenersPerSession', `must be a whole number from 1 to 1000, got ${JSON.stringify(listeners)}`);
  if (description.historyEmptyUntilGenerator !== undefined && typeof description.historyEmptyUntilGenerator !== 'boolean') fail('historyEmptyUntilGenerator', 'must be true or false');
  if (description.fixedSettings !== undefined) {
    if (!isObject(description.fixedSettings)) fail('fixedSettings', 'must be an object of settings');
    for (const [key, fixed] of Object.entries(description.fixedSettings as object)) {
      if (!Object.hasOwn(DEFAULT_SETTINGS, key)) fail(`fixedSettings.${key}`, `is not a setting; expected one of ${Object.keys(DEFAULT_SETTINGS).join(', ')}`);
      if (!(typeof fixed === 'number' && Number.isFinite(fixed) && fixed > 0)) fail(`fixedSettings.${key}`, `must be a positive number, got ${JSON.stringify(fixed)}`);
    }
  }
  const tools = description.skippedTools;
  if (tools !== undefined && !(Array.isArray(tools) && tools.every((tool) => typeof tool === 'string'))) fail('skippedTools', 'must be an array of tool names');
  if (description.invariantsOff !== undefined) {
    if (!isObject(description.invariantsOff)) fail('invariantsOff', 'must be an object of invariant names to reasons');
    for (const [name, reason] of Object.entries(description.invariantsOff as object)) {
      if (!Object.hasOwn(INVARIANTS, name)) fail(`invariantsOff.${name}`, `is not an invariant; expected one of ${Object.keys(INVARIANTS).join(', ')}`);
      if (typeof reason !== 'string' || reason.trim() === '') fail(`invariantsOff.${name}`, 'needs the reason, as a non-empty string');
    }
  }
  const follows = description.followsModel;
  if (follows !== undefined && follows !== true && !(Array.isArray(follows) && follows.length > 0 && follows.every((part) => MODEL_PART_NAMES.includes(part)))) {
    fail('followsModel', `must be true or a list of parts (${MODEL_PART_NAMES.map((part) => `'${part}'`).join(', ')}), got ${JSON.stringify(follows)}`);
  }
  if (description.heap !== undefined) {
    if (!isObject(description.heap)) fail('heap', 'must be { session: matcher, historyMessage: matcher }');
    const heap = description.heap as Record<string, unknown>;
    for (const key of Object.keys(heap)) if (key !== 'session' && key !== 'historyMessage') fail(`heap.${key}`, 'is not a heap matcher; expected session and historyMessage');
    for (const key of ['session', 'historyMessage']) if (!isHeapMatcher(heap[key])) fail(`heap.${key}`, 'must be { constructorName: string } or { properties: string[] } (at least one property)');
  }
  return Object.freeze({ ...(value as TargetDescription) });
}

function isHeapMatcher(value: unknown): value is HeapMatcher {
  if (!isObject(value)) return false;
  const keys = Object.keys(value);
  if (keys.length !== 1) return false;
  const matcher = value as Record<string, unknown>;
  if (keys[0] === 'constructorName') return typeof matcher.constructorName === 'string' && matcher.constructorName !== '';
  if (keys[0] === 'properties') return Array.isArray(matcher.properties) && matcher.properties.length > 0 && matcher.properties.every((property) => typeof property === 'string' && property !== '');
  return false;
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
