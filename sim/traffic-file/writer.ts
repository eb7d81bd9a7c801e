/**
 * Writes traffic files. This is the single place where event content can reach a file, so it is
 * the single place redaction happens: unless the header says `content`, an event's `text` is
 * replaced by an HMAC-SHA256 of it, keyed by a key that is never written anywhere. Sizes are
 * always kept. An event that carries only a hash (read from a redacted file) keeps that hash.
 *
 * Lines are built field by field in the order format.ts fixes, never in the caller's key order,
 * so reading a file and writing it back gives identical bytes.
 *
 * `writeTrafficFile` never leaves a partial file behind: it writes to a temporary file beside the
 * target and renames it into place only when everything was written. (The recorder appends as it
 * goes instead; see sim/record/recorder.ts.)
 */
import { createHmac, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import type { HookEvent } from '../engine/events.ts';
import { parseEventLine, parseHeaderLine, TRAFFIC_VERSION, type TrafficHeader } from './format.ts';

/** Lines are gathered into writes of about this size. */
export const WRITE_CHUNK_BYTES = 64 * 1024;

export interface WriteOptions {
  /** HMAC key for content hashes. Required when the header's redaction is `hash` and an event has text. */
  readonly hashKey?: Buffer;
  /**
   * Check every line with replay's own line reader (format.ts) as it is made, naming this file: a
   * line replay would refuse (a 2,000-character session id, a prompt past MAX_EVENT_CHARS, times
   * past MAX_TRAFFIC_SPAN_MS) is an InputError here, never a file that cannot be replayed.
   */
  readonly validateAs?: string;
}

/** Formats lines for one file: the header once, then events, each without its newline. */
export interface LineFormatter {
  header(): string;
  event(event: HookEvent): string;
}

export function createLineFormatter(header: TrafficHeader, options: WriteOptions = {}): LineFormatter {
  const keepContent = header.redaction === 'content';
  const hashKey = options.hashKey;
  let previousAtMs = 0;
  let count = 0;

  const contentOf = (event: { text?: string; hash?: string }): { hash?: string; text?: string } => {
    if (event.text !== undefined) {
      if (keepContent) return { text: event.text };
      if (hashKey === undefined) throw new Error('traffic writer: a hash key is needed to redact content (see resolveHashKey)');
      return { hash: createHmac('sha256', hashKey).update(event.text, 'utf8').digest('hex') };
    }
    return event.hash === undefined ? {} : { hash: event.hash };
  };

  const validateAs = options.validateAs;
  return {
    header: () => {
      const line = JSON.stringify({ format: header.format, version: header.version, source: header.source, timeOrigin: header.timeOrigin, redaction: header.redaction });
      if (validateAs !== undefined) parseHeaderLine(line, { file: validateAs, line: 1 });
      return line;
    },
    event(event) {
      count += 1;
      // The reader refuses these, so the writer must never produce them: a programming error, not bad input.
      if (!Number.isSafeInteger(event.atMs) || event.atMs < previousAtMs) {
        throw new Error(`traffic writer: event ${count} has atMs ${event.atMs} after ${previousAtMs}; events must be whole, non-decreasing offsets`);
      }
      previousAtMs = event.atMs;
      const line = JSON.stringify(ordered(event, contentOf));
      if (validateAs !== undefined) parseEventLine(line, { file: validateAs, line: count + 1 }, header, TRAFFIC_VERSION);
      return line;
    },
  };
}

/** A fresh object whose keys are in the file's fixed order (format.ts EVENT_FIELDS). */
function ordered(event: HookEvent, contentOf: (event: { text?: string; hash?: string }) => object): object {
  switch (event.kind) {
    case 'worker-restart':
      return { atMs: event.atMs, kind: event.kind };
    case 'sleep':
      return { atMs: event.atMs, kind: event.kind, durationMs: event.durationMs };
    case 'session-start':
      return { atMs: event.atMs, kind: event.kind, session: event.session, project: event.project, source: event.source };
    case 'session-end':
      return { atMs: event.atMs, kind: event.kind, session: event.session, project: event.project, reason: event.reason };
    case 'prompt':
      return { atMs: event.atMs, kind: event.kind, session: event.session, project: event.project, promptChars: event.promptChars, ...contentOf(event) };
    case 'tool-use':
      return {
        atMs: event.atMs,
        kind: event.kind,
        session: event.session,
        project: event.project,
        toolName: event.toolName,
        inputChars: event.inputChars,
        responseChars: event.responseChars,
        ...contentOf(event),
      };
    case 'stop':
      return { atMs: event.atMs, kind: event.kind, session: event.session, project: event.project, messageChars: event.messageChars, ...contentOf(event) };
  }
}

/** The whole file as text (tests, small outputs). */
export function formatTraffic(header: TrafficHeader, events: Iterable<HookEvent>, options: WriteOptions = {}): string {
  const formatter = createLineFormatter(header, options);
  let text = `${formatter.header()}\n`;
  for (const event of events) text += `${formatter.event(event)}\n`;
  return text;
}

/**
 * Writes `events` to `path` streaming (events may be a lazy generator of any length), through a
 * temporary file renamed into place on success. On any error the temporary file is removed and
 * the error rethrown; an existing file at `path` is untouched. Returns the number of events.
 */
export function writeTrafficFile(path: string, header: TrafficHeader, events: Iterable<HookEvent>, options: WriteOptions = {}): { events: number } {
  const formatter = createLineFormatter(header, options);
  const temporaryPath = `${path}.tmp-${process.pid}`;
  const fd = openSync(temporaryPath, 'wx'); // never truncates a file someone else left there
  let count = 0;
  try {
    let pending = `${formatter.header()}\n`;
    for (const event of events) {
      pending += `${formatter.event(event)}\n`;
      count += 1;
      if (pending.length >= WRITE_CHUNK_BYTES) {
        writeSync(fd, pending);
        pending = '';
      }
    }
    writeSync(fd, pending);
    fsyncSync(fd);
    closeSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temporaryPath, { force: true });
    throw error;
  }
  try {
    renameSync(temporaryPath, path);
  } catch (error) {
    rmSync(temporaryPath, { force: true });
    throw error;
  }
  return { events: count };
}

/**
 * The HMAC key for one run: `--hash-key` if given, else LEAKSIM_HASH_KEY, else 32 random bytes
 * that are used for this run and then forgotten. With a random key, hashes can be compared only
 * within one file (the same content gives the same hash there); give a key to compare across
 * files. This is privacy randomness, not simulation randomness: it never affects what is
 * simulated, which is why it may come from node:crypto rather than sim/engine/rng.ts. Called only from
 * the command line edge, so the functions above stay deterministic.
 */
export function resolveHashKey(flag: string | undefined, env: NodeJS.ProcessEnv): { key: Buffer; given: boolean } {
  const given = flag ?? env.LEAKSIM_HASH_KEY;
  if (given !== undefined && given !== '') return { key: Buffer.from(given, 'utf8'), given: true };
  return { key: randomBytes(32), given: false };
}
