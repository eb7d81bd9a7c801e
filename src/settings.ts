/**
 * Retention settings: how long an idle session lives, how many sessions may exist, and how much
 * conversation history each may hold. Defaults live here and only here.
 *
 * The settings file is claude-mem's own `~/.claude-mem/settings.json`: a flat JSON object whose
 * values are strings. Unknown keys are ignored (the file holds many other settings); a known key
 * with a bad value is an error naming the key and the value, never a silent fallback.
 */
import { parse, printParseErrorCode, type ParseError } from './jsonc.ts';
import { InputError, lineOfOffset } from './input-error.ts';
import { checkedJsonText, lineAndColumn, readJsonText } from './json-text.ts';

export interface RetentionSettings {
  /** An idle session (no generator, nothing pending) is removed after this long. */
  readonly ttlMs: number;
  /** At most this many sessions are held in memory at any moment. */
  readonly maxActiveSessions: number;
  /** A session's history holds at most this many messages, the pinned init prompt included. */
  readonly maxHistoryMessages: number;
  /** A session's history holds at most this many estimated tokens (see `estimateTokens`). */
  readonly maxHistoryTokens: number;
  /** A generator that shows no activity for this long is treated as hung and aborted. */
  readonly generatorIdleTimeoutMs: number;
  /** A generator that crashed with work pending is restarted after this delay. */
  readonly generatorRestartDelayMs: number;
}

export const MINUTE_MS = 60_000;

export const DEFAULT_SETTINGS: RetentionSettings = Object.freeze({
  ttlMs: 60 * MINUTE_MS,
  maxActiveSessions: 100,
  maxHistoryMessages: 50,
  maxHistoryTokens: 100_000,
  generatorIdleTimeoutMs: 5 * MINUTE_MS,
  generatorRestartDelayMs: 1_000,
});

export interface SettingKey {
  readonly key: string;
  readonly field: keyof RetentionSettings;
  /** Multiplier from the file's unit to the field's unit. */
  readonly scale: number;
  readonly min: number;
  readonly max: number;
  readonly unit: string;
}

/**
 * The keys read from a claude-mem settings file. The bounds reject values that are surely typos:
 * a TTL beyond 30 days or a cap of a million sessions is not a retention policy.
 */
export const SETTING_KEYS: readonly SettingKey[] = [
  { key: 'CLAUDE_MEM_SESSION_TTL_MINUTES', field: 'ttlMs', scale: MINUTE_MS, min: 1, max: 43_200, unit: 'minutes' },
  { key: 'CLAUDE_MEM_MAX_ACTIVE_SESSIONS', field: 'maxActiveSessions', scale: 1, min: 1, max: 100_000, unit: 'sessions' },
  { key: 'CLAUDE_MEM_MAX_CONVERSATION_HISTORY', field: 'maxHistoryMessages', scale: 1, min: 3, max: 100_000, unit: 'messages' },
  { key: 'CLAUDE_MEM_MAX_HISTORY_TOKENS', field: 'maxHistoryTokens', scale: 1, min: 100, max: 10_000_000, unit: 'tokens' },
];

/**
 * Parses the text of a settings file. Throws `InputError` naming file, line, key and value.
 * `keys` is the table of keys read (SETTING_KEYS; a flaw of the leaky baseline hands a slipped one).
 */
export function parseSettings(text: string, file = '<settings>', base: RetentionSettings = DEFAULT_SETTINGS, keys: readonly SettingKey[] = SETTING_KEYS): RetentionSettings {
  text = checkedJsonText(text, file);
  // jsonc-parser reports where the text went wrong (JSON.parse gives only a character position).
  const errors: ParseError[] = [];
  const parsed: unknown = parse(text, errors, { disallowComments: true, allowTrailingComma: false });
  if (errors.length > 0) {
    const first = errors[0]!;
    const { line, column } = lineAndColumn(text, first.offset);
    throw new InputError(file, line, '', `is not valid JSON (column ${column}: ${printParseErrorCode(first.error)})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InputError(file, 1, '', 'must be a JSON object of string values');
  }
  const record = parsed as Record<string, unknown>;
  // claude-mem's file holds many settings leaksim does not read; one a typo away from a key it
  // reads (CLAUDE_MEM_SESION_TTL_MINUTES) would be silently ignored, so it is refused.
  for (const key of Object.keys(record)) {
    if (SETTING_KEYS.some((spec) => spec.key === key)) continue;
    const nearest = SETTING_KEYS.map((spec) => ({ key: spec.key, distance: editDistance(key, spec.key) })).sort((a, b) => a.distance - b.distance)[0]!;
    if (nearest.distance <= 3) throw new InputError(file, lineOfOffset(text, text.indexOf(`"${key}"`)), key, `is not a setting leaksim reads: did you mean ${nearest.key}?`);
  }
  const result: Record<string, number> = { ...base };
  for (const spec of keys) {
    if (!(spec.key in record)) continue;
    result[spec.field] = parseSettingValue(spec, record[spec.key], file, text);
  }
  return Object.freeze(result as unknown as RetentionSettings);
}

function parseSettingValue(spec: SettingKey, raw: unknown, file: string, text: string): number {
  const line = lineOfOffset(text, text.indexOf(`"${spec.key}"`));
  // A number out of a double's range never gets here: checkedJsonText refuses it where it is written.
  const shown = JSON.stringify(raw);
  // claude-mem writes every value as a string; a bare number is accepted as the same thing.
  const asText = typeof raw === 'number' ? String(raw) : raw;
  if (typeof asText !== 'string' || !/^\s*\d+\s*$/.test(asText)) {
    throw new InputError(file, line, spec.key, `expected a whole number of ${spec.unit} from ${spec.min} to ${spec.max}, got ${shown}`);
  }
  const value = Number(asText);
  if (value < spec.min || value > spec.max) {
    throw new InputError(file, line, spec.key, `expected a whole number of ${spec.unit} from ${spec.min} to ${spec.max}, got ${shown}`);
  }
  return value * spec.scale;
}

/** Levenshtein distance, for "did you mean": two rows, O(a × b) on key-sized strings. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * Settings as claude-mem writes them to settings.json: a flat object of string values, two-space
 * indented. Only the keys whose value the file can state are written (a TTL in whole minutes,
 * every value within its key's bounds); the others stay with the reader's base. What the
 * simulator hands a target is this text read back by `parseSettings`, so a slip in the reader
 * changes what the gate sees.
 */
export function settingsFileText(settings: RetentionSettings): string {
  const record: Record<string, string> = {};
  for (const spec of SETTING_KEYS) {
    const value = settings[spec.field] / spec.scale;
    if (Number.isInteger(value) && value >= spec.min && value <= spec.max) record[spec.key] = String(value);
  }
  return `${JSON.stringify(record, null, 2)}\n`;
}

export function loadSettings(file: string, base: RetentionSettings = DEFAULT_SETTINGS): RetentionSettings {
  return parseSettings(readJsonText(file), file, base);
}

/** Settings from plain field values (scenario files use these names), checked like the file keys. */
export function settingsFromFields(fields: Partial<Record<keyof RetentionSettings, number>>, base: RetentionSettings = DEFAULT_SETTINGS): RetentionSettings {
  return Object.freeze({ ...base, ...fields });
}
