/**
 * Reads a traffic file synchronously and lazily: the driver's loop is synchronous, and a 1 GB
 * recording must replay in constant memory. Bytes are read in 64 KiB chunks with readSync, split
 * into lines here, and each line becomes an event only when the caller asks for the next one.
 * Memory is one chunk plus the longest line, whatever the file's length.
 *
 * Strict by default: the first bad line throws an InputError naming file, line and field. With
 * `strict: false` bad event lines are skipped and counted instead (a bad header is always fatal:
 * nothing after it can be trusted). See format.ts for what makes a line bad.
 */
import { closeSync, readSync } from 'node:fs';
import { openRegularFile } from '../../src/bounded-read.ts';
import type { HookEvent } from '../engine/events.ts';
import { InputError } from '../../src/input-error.ts';
import { type TrafficHeader, parseEventLine, parseHeaderLine } from './format.ts';

export const READ_CHUNK_BYTES = 64 * 1024;
/** A longer line is refused rather than buffered: kept tool responses are large, but not this large. */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;
/** In lenient mode, the first this many problems are kept for reporting; the rest are only counted. */
export const MAX_KEPT_PROBLEMS = 20;

export interface ReadOptions {
  /** Throw on the first bad line (default). False: skip bad event lines and count them. */
  readonly strict?: boolean;
}

export interface TrafficFile {
  readonly header: TrafficHeader;
  /** Read lazily; iterating again reads the file again from the start. */
  readonly events: Iterable<HookEvent>;
  /** Event lines skipped so far by the latest iteration (always 0 when strict). */
  skipped(): number;
  /** The first MAX_KEPT_PROBLEMS skipped lines' errors, in file order. */
  problems(): readonly InputError[];
}

/** One line of text without its newline. `terminated` is false for a last line with no newline. */
interface Line {
  readonly text: string;
  readonly number: number;
  readonly terminated: boolean;
}

/**
 * Opens a traffic file: the header is read and checked now (a wrong file fails at once), events
 * as they are iterated. The file is opened per iteration and closed when it ends or is abandoned.
 */
export function openTrafficFile(path: string, options: ReadOptions = {}): TrafficFile {
  let first: Line | undefined;
  for (const line of fileLines(path)) {
    first = line;
    break; // closes the file: the generator's finally runs
  }
  return open(path, first, () => fileLines(path), options);
}

/** The same, from text in memory (tests, small fixtures). `file` names it in error messages. */
export function parseTraffic(text: string, options: ReadOptions & { file?: string } = {}): TrafficFile {
  const file = options.file ?? '<traffic>';
  let first: Line | undefined;
  for (const line of stringLines(text)) {
    first = line;
    break;
  }
  return open(file, first, () => stringLines(text), options);
}

/** Reads every event into an array: for small files and tests, where constant memory does not matter. */
export function readAllEvents(traffic: TrafficFile): HookEvent[] {
  return [...traffic.events];
}

function open(file: string, first: Line | undefined, lines: () => Iterable<Line>, options: ReadOptions): TrafficFile {
  const strict = options.strict ?? true;
  if (first === undefined) throw new InputError(file, 1, '', 'is empty: expected a header line (is this a leaksim traffic file?)');
  if (!first.terminated) throw truncated(file, first.number);
  const { header, fileVersion } = parseHeaderLine(first.text, { file, line: first.number });
  let skipped = 0;
  let problems: InputError[] = [];

  function* events(): Generator<HookEvent> {
    skipped = 0;
    problems = [];
    let lastAtMs = 0;
    for (const line of lines()) {
      if (line.number === 1) continue;
      let event: HookEvent;
      try {
        if (!line.terminated) throw truncated(file, line.number);
        if (line.text === '') throw new InputError(file, line.number, '', 'is empty (blank lines are not allowed)');
        event = parseEventLine(line.text, { file, line: line.number }, header, fileVersion);
        if (event.atMs < lastAtMs) {
          throw new InputError(file, line.number, 'atMs', `is ${event.atMs}, before the previous event's ${lastAtMs}: time must not go backwards`);
        }
      } catch (error) {
        if (strict || !(error instanceof InputError)) throw error;
        skipped += 1;
        if (problems.length < MAX_KEPT_PROBLEMS) problems.push(error);
        continue;
      }
      lastAtMs = event.atMs;
      yield event;
    }
  }

  return { header, events: { [Symbol.iterator]: events }, skipped: () => skipped, problems: () => problems };
}

function truncated(file: string, line: number): InputError {
  return new InputError(file, line, '', 'is truncated (no newline at the end of the file; was the recording interrupted?)');
}

// ---------------------------------------------------------------------------------------------
// Line splitting. Lines are split on bytes (0x0A never occurs inside a UTF-8 sequence), then
// decoded strictly, so a multi-byte character across a chunk boundary is decoded whole.
// ---------------------------------------------------------------------------------------------

function* fileLines(path: string): Generator<Line> {
  // Refused by type before it is opened: a FIFO would wait for a writer, a device never ends.
  const fd = openRegularFile(path, 'a traffic file (.jsonl)');
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const chunk = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  // The current line's bytes seen so far, in pieces (copied, since `chunk` is reused).
  let pieces: Buffer[] = [];
  let pieceBytes = 0;
  let number = 0;
  const decode = (bytes: Buffer): string => {
    try {
      return decoder.decode(bytes);
    } catch {
      throw new InputError(path, number, '', 'is not valid UTF-8');
    }
  };
  try {
    for (;;) {
      let read: number;
      try {
        read = readSync(fd, chunk, 0, READ_CHUNK_BYTES, null);
      } catch (error) {
        throw new InputError(path, number + 1, '', `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      }
      if (read === 0) break;
      let start = 0;
      for (let newline = chunk.indexOf(10, start); newline !== -1 && newline < read; newline = chunk.indexOf(10, start)) {
        number += 1;
        const tail = chunk.subarray(start, newline);
        const bytes = pieces.length === 0 ? tail : Buffer.concat([...pieces, tail]);
        if (bytes.length > MAX_LINE_BYTES) throw tooLong(path, number);
        pieces = [];
        pieceBytes = 0;
        start = newline + 1;
        yield { text: decode(bytes), number, terminated: true };
      }
      if (start < read) {
        pieceBytes += read - start;
        if (pieceBytes > MAX_LINE_BYTES) throw tooLong(path, number + 1);
        pieces.push(Buffer.from(chunk.subarray(start, read)));
      }
    }
    if (pieceBytes > 0) {
      number += 1;
      yield { text: decode(Buffer.concat(pieces)), number, terminated: false };
    }
  } finally {
    closeSync(fd);
  }
}

function tooLong(file: string, line: number): InputError {
  return new InputError(file, line, '', `is longer than ${MAX_LINE_BYTES} bytes`);
}

function* stringLines(text: string): Generator<Line> {
  let number = 0;
  let start = 0;
  for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
    number += 1;
    yield { text: text.slice(start, newline), number, terminated: true };
    start = newline + 1;
  }
  if (start < text.length) yield { text: text.slice(start), number: number + 1, terminated: false };
}
