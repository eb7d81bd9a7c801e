/**
 * The traffic file format, version 1: JSON Lines. Line 1 is a header, every later line is one
 * HookEvent (sim/engine/events.ts) with its time as an offset from the header's time origin.
 *
 *   {"format":"leaksim-traffic","version":1,"source":"record","timeOrigin":"2026-01-05T09:00:00.000Z","redaction":"hash"}
 *   {"atMs":0,"kind":"prompt","session":"5c03…","project":"Demo","promptChars":42,"hash":"9f2c…"}
 *
 * This file owns the shapes, the field order (what makes read → write byte-identical), the checks
 * a line must pass, and the upgrade of older versions. Reading bytes is reader.ts; writing and
 * redaction is writer.ts. Everything here is pure: a line in, an event or an InputError out.
 */
import { type HookEvent, type HookKind, type SessionEndReason, type SessionStartSource, HOOK_KINDS } from '../engine/events.ts';
import { InputError } from '../../src/input-error.ts';

export const TRAFFIC_FORMAT = 'leaksim-traffic';
export const TRAFFIC_VERSION = 1;

/**
 * `hash`: content is dropped, each event keeps its sizes and an HMAC-SHA256 of its content.
 * `content`: the content itself is kept in `text` (asked for with --keep-content).
 */
export type Redaction = 'hash' | 'content';
export const REDACTIONS: readonly Redaction[] = ['hash', 'content'];

export interface TrafficHeader {
  readonly format: typeof TRAFFIC_FORMAT;
  readonly version: typeof TRAFFIC_VERSION;
  /** Where the traffic came from: `record`, `import-claude-code`, `generate` (free text, non-empty). */
  readonly source: string;
  /** ISO-8601 UTC instant that event offsets (`atMs`) count from. Kept as written. */
  readonly timeOrigin: string;
  readonly redaction: Redaction;
}

/** Field order of each record kind. The writer emits exactly this order; the reader accepts only these fields. */
export const HEADER_FIELDS = ['format', 'version', 'source', 'timeOrigin', 'redaction'] as const;

/** `content` is `hash` or `text`, whichever is present (never both). */
export const EVENT_FIELDS: Readonly<Record<HookKind, readonly string[]>> = {
  'session-start': ['atMs', 'kind', 'session', 'project', 'source'],
  prompt: ['atMs', 'kind', 'session', 'project', 'promptChars', 'hash', 'text'],
  'tool-use': ['atMs', 'kind', 'session', 'project', 'toolName', 'inputChars', 'responseChars', 'hash', 'text'],
  stop: ['atMs', 'kind', 'session', 'project', 'messageChars', 'hash', 'text'],
  'session-end': ['atMs', 'kind', 'session', 'project', 'reason'],
  'worker-restart': ['atMs', 'kind'],
  sleep: ['atMs', 'kind', 'durationMs'],
};

/**
 * Bounds on one event, so that no file can make a replay hang or allocate without limit. A
 * recording spans at most a year (the longest run leaksim simulates); one prompt, tool input,
 * tool response or reply is at most ten million characters (the largest size a scenario may ask
 * for); names are at most a thousand characters.
 */
export const MAX_TRAFFIC_SPAN_MS = 366 * 24 * 3_600_000;
export const MAX_EVENT_CHARS = 10_000_000;
export const MAX_NAME_CHARS = 1_000;

const SESSION_START_SOURCES: readonly SessionStartSource[] = ['startup', 'resume', 'clear', 'compact'];
const SESSION_END_REASONS: readonly SessionEndReason[] = ['clear', 'logout', 'prompt_input_exit', 'other'];
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const HASH_HEX = /^[0-9a-f]{64}$/;

/** Where a line came from, for error messages. */
export interface LinePlace {
  readonly file: string;
  readonly line: number;
}

type JsonObject = Record<string, unknown>;

function parseJsonObject(text: string, place: LinePlace): JsonObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InputError(place.file, place.line, '', `is not valid JSON (${(error as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InputError(place.file, place.line, '', 'is not a JSON object');
  }
  return parsed as JsonObject;
}

// ---------------------------------------------------------------------------------------------
// Versions. Each entry upgrades a record of version N to version N + 1; a reader applies them in
// turn, line by line, so an old file is read in constant memory like a current one.
//
// Version 0 was the draft used while the format was designed: the header named the origin
// `origin`, and events named their offset `at`. Nothing else differs.
// ---------------------------------------------------------------------------------------------

interface Upgrade {
  header(record: JsonObject): JsonObject;
  event(record: JsonObject): JsonObject;
}

const UPGRADES: Readonly<Record<number, Upgrade>> = {
  0: {
    header: ({ origin, ...rest }) => ({ ...rest, version: 1, ...(origin === undefined ? {} : { timeOrigin: origin }) }),
    event: ({ at, ...rest }) => (at === undefined ? rest : { atMs: at, ...rest }),
  },
};

const OLDEST_VERSION = 0;

/** Parses and checks the header line. The version found decides how event lines are upgraded. */
export function parseHeaderLine(text: string, place: LinePlace): { header: TrafficHeader; fileVersion: number } {
  let record = parseJsonObject(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, place); // a byte-order mark is accepted
  if (record.format !== TRAFFIC_FORMAT) {
    throw new InputError(place.file, place.line, 'format', `is ${show(record.format)}, expected "${TRAFFIC_FORMAT}" (is this a leaksim traffic file?)`);
  }
  const fileVersion = record.version;
  if (typeof fileVersion !== 'number' || !Number.isInteger(fileVersion) || fileVersion < OLDEST_VERSION) {
    throw new InputError(place.file, place.line, 'version', `is ${show(fileVersion)}, expected a whole number from ${OLDEST_VERSION} to ${TRAFFIC_VERSION}`);
  }
  if (fileVersion > TRAFFIC_VERSION) {
    throw new InputError(place.file, place.line, 'version', `is ${fileVersion}, newer than this leaksim reads (up to ${TRAFFIC_VERSION}); use a newer leaksim`);
  }
  for (let version = fileVersion; version < TRAFFIC_VERSION; version += 1) record = UPGRADES[version]!.header(record);
  checkFields(record, HEADER_FIELDS, 'the header', place);
  const header: TrafficHeader = {
    format: TRAFFIC_FORMAT,
    version: TRAFFIC_VERSION,
    source: nonEmptyString(record, 'source', place),
    timeOrigin: isoInstant(record, 'timeOrigin', place),
    redaction: oneOf(record, 'redaction', REDACTIONS, place),
  };
  return { header, fileVersion };
}

/** Parses and checks one event line of a file whose header is `header` and version `fileVersion`. */
export function parseEventLine(text: string, place: LinePlace, header: TrafficHeader, fileVersion: number): HookEvent {
  let record = parseJsonObject(text, place);
  for (let version = fileVersion; version < TRAFFIC_VERSION; version += 1) record = UPGRADES[version]!.event(record);
  const kind = oneOf(record, 'kind', HOOK_KINDS, place);
  checkFields(record, EVENT_FIELDS[kind], `a ${kind} event`, place);
  const atMs = wholeNumber(record, 'atMs', place, MAX_TRAFFIC_SPAN_MS, 'MAX_TRAFFIC_SPAN_MS: a recording spans at most 366 days');
  switch (kind) {
    case 'worker-restart':
      return { atMs, kind };
    case 'sleep':
      return { atMs, kind, durationMs: wholeNumber(record, 'durationMs', place, MAX_TRAFFIC_SPAN_MS, 'MAX_TRAFFIC_SPAN_MS: at most 366 days') };
    default:
      break;
  }
  const session = nonEmptyString(record, 'session', place);
  const project = string(record, 'project', place);
  if (project.length > MAX_NAME_CHARS) throw new InputError(place.file, place.line, 'project', `is ${project.length} characters long, more than ${MAX_NAME_CHARS} (MAX_NAME_CHARS)`);
  switch (kind) {
    case 'session-start':
      return { atMs, kind, session, project, source: oneOf(record, 'source', SESSION_START_SOURCES, place) };
    case 'session-end':
      return { atMs, kind, session, project, reason: oneOf(record, 'reason', SESSION_END_REASONS, place) };
    case 'prompt': {
      const promptChars = wholeNumber(record, 'promptChars', place, MAX_EVENT_CHARS, 'MAX_EVENT_CHARS');
      return { atMs, kind, session, project, promptChars, ...content(record, promptChars, 'promptChars', header, place) };
    }
    case 'tool-use': {
      const toolName = nonEmptyString(record, 'toolName', place);
      const inputChars = wholeNumber(record, 'inputChars', place, MAX_EVENT_CHARS, 'MAX_EVENT_CHARS');
      const responseChars = wholeNumber(record, 'responseChars', place, MAX_EVENT_CHARS, 'MAX_EVENT_CHARS');
      const kept = content(record, inputChars + responseChars, 'inputChars + responseChars', header, place);
      return { atMs, kind, session, project, toolName, inputChars, responseChars, ...kept };
    }
    case 'stop': {
      const messageChars = wholeNumber(record, 'messageChars', place, MAX_EVENT_CHARS, 'MAX_EVENT_CHARS');
      return { atMs, kind, session, project, messageChars, ...content(record, messageChars, 'messageChars', header, place) };
    }
  }
}

/**
 * The content part of an event: a hash, or the text itself (only in a `content` file). Kept text
 * must be as long as the sizes say: for a tool use it is the input followed by the response.
 */
function content(record: JsonObject, expectedChars: number, sizeName: string, header: TrafficHeader, place: LinePlace): { hash?: string; text?: string } {
  if ('hash' in record && 'text' in record) throw new InputError(place.file, place.line, 'text', 'and hash are both present; an event keeps one or the other');
  if ('text' in record) {
    if (header.redaction !== 'content') throw new InputError(place.file, place.line, 'text', 'is present but the header says redaction "hash" (content must not be kept)');
    const text = string(record, 'text', place);
    if (text.length !== expectedChars) throw new InputError(place.file, place.line, 'text', `has ${text.length} characters but ${sizeName} is ${expectedChars}`);
    return { text };
  }
  if ('hash' in record) {
    const hash = string(record, 'hash', place);
    if (!HASH_HEX.test(hash)) throw new InputError(place.file, place.line, 'hash', `is ${show(hash)}, expected 64 lowercase hex digits (HMAC-SHA256)`);
    return { hash };
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// Field checks. Each names the field and says what was expected and what was found.
// ---------------------------------------------------------------------------------------------

function checkFields(record: JsonObject, allowed: readonly string[], what: string, place: LinePlace): void {
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) throw new InputError(place.file, place.line, key, `is not a field of ${what} (fields: ${allowed.join(', ')})`);
  }
}

function missing(record: JsonObject, field: string, place: LinePlace): void {
  if (!(field in record)) throw new InputError(place.file, place.line, field, 'is missing');
}

function string(record: JsonObject, field: string, place: LinePlace): string {
  missing(record, field, place);
  const value = record[field];
  if (typeof value !== 'string') throw new InputError(place.file, place.line, field, `is ${show(value)}, expected a string`);
  return value;
}

function nonEmptyString(record: JsonObject, field: string, place: LinePlace): string {
  const value = string(record, field, place);
  if (value === '') throw new InputError(place.file, place.line, field, 'is empty');
  if (value.length > MAX_NAME_CHARS) throw new InputError(place.file, place.line, field, `is ${value.length} characters long, more than ${MAX_NAME_CHARS} (MAX_NAME_CHARS)`);
  return value;
}

function wholeNumber(record: JsonObject, field: string, place: LinePlace, max: number, bound: string): number {
  missing(record, field, place);
  const value = record[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new InputError(place.file, place.line, field, `is ${show(value)}, expected a whole number from 0 to ${max} (${bound})`);
  }
  return value;
}

function oneOf<T extends string>(record: JsonObject, field: string, values: readonly T[], place: LinePlace): T {
  missing(record, field, place);
  const value = record[field];
  if (!values.includes(value as T)) throw new InputError(place.file, place.line, field, `is ${show(value)}, expected one of ${values.join(', ')}`);
  return value as T;
}

function isoInstant(record: JsonObject, field: string, place: LinePlace): string {
  const value = string(record, field, place);
  if (!ISO_UTC.test(value) || Number.isNaN(Date.parse(value))) {
    throw new InputError(place.file, place.line, field, `is ${show(value)}, expected an ISO-8601 UTC instant like 2026-01-05T09:00:00.000Z`);
  }
  // Date.parse rolls an impossible day over (2026-02-30 is read as 2026-03-02): the date must come back as written.
  const written = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value);
  const read = new Date(Date.parse(value));
  if (written && (read.getUTCFullYear() !== Number(written[1]) || read.getUTCMonth() + 1 !== Number(written[2]) || read.getUTCDate() !== Number(written[3]) || read.getUTCHours() !== Number(written[4]) || read.getUTCMinutes() !== Number(written[5]))) {
    throw new InputError(place.file, place.line, field, `is ${show(value)}, a date that does not exist (${written[1]}-${written[2]} has no day ${Number(written[3])}, or the time is out of range)`);
  }
  return value;
}

/** A value as it appears in an error message: JSON, cut short. A nested value is never a field's type, so it is not spelled out. */
export function show(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value !== null && typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}
