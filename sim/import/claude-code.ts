/**
 * Rebuilds the hook traffic a claude-mem worker would have seen from Claude Code transcripts
 * (`~/.claude/projects/<dir>/<session>.jsonl`), following the rules in
 * ../shared/reference/hook-traffic.md:
 *
 * - session-start: the first record of a session id (source `startup`);
 * - prompt: a main-thread `user` record with text content that is not a tool result and not
 *   `isMeta`. Claude Code's own "[Request interrupted by user…]" marker is not a prompt, and the
 *   turn it interrupts gets no stop (Stop does not fire after an interrupt);
 * - tool-use: each `tool_result` that is not an error, paired with its `tool_use` by id, at the
 *   time of the result; sidechain (subagent) results count too, since their hooks fire as well;
 * - stop: at the last main-thread assistant record before the next prompt, and at the end.
 *   Its content is that assistant message's text (all lines sharing its `message.id`, merged).
 * - no session-end: transcripts do not record SessionEnd.
 *
 * Sizes: a prompt is its text; a tool use is JSON of the tool input, then the tool response as the
 * PostToolUse hook gets it (the record's `toolUseResult`, else the tool_result content), a string
 * kept as is and anything else as JSON; `text` is the two joined, so it matches the sizes.
 *
 * Lines are not always in time order, so each session's records are sorted by time before turns
 * are found, and all events are sorted by (time, file, line, position in the line): stable and
 * the same on every run. A record repeated with the same uuid (copied history) counts once, and
 * so does a tool result repeated with the same tool_use_id.
 *
 * Strict by default: a corrupt line, an unknown record type, or a user/assistant/system record
 * without a valid timestamp or session id throws an InputError naming file and line. With
 * `strict: false` such lines are skipped and counted. Nothing here reads the clock or randomness.
 */
import { lstatSync, readdirSync, statSync } from 'node:fs';
import { readBoundedText } from '../../src/bounded-read.ts';
import { basename, dirname, join } from 'node:path';
import type { HookEvent, HookKind, SessionEvent } from '../engine/events.ts';
import { InputError } from '../../src/input-error.ts';
import { type TrafficHeader, TRAFFIC_FORMAT, TRAFFIC_VERSION } from '../traffic-file/format.ts';

/** Record types Claude Code writes. Only user, assistant and system are read; the rest are ignored. */
export const KNOWN_RECORD_TYPES = ['user', 'assistant', 'system', 'summary', 'file-history-snapshot', 'queue-operation', 'progress', 'attachment'] as const;
const TIMED_TYPES = new Set(['user', 'assistant', 'system']);
/** ~/.claude/projects/<dir>/<session>/subagents/<agent>.jsonl is 4 levels down; 8 leaves room, and bounds the walk. */
export const MAX_DIRECTORY_DEPTH = 8;
export const MAX_KEPT_PROBLEMS = 20;
const INTERRUPT_MARKER = '[Request interrupted by user';
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

export interface ImportOptions {
  /** Throw on the first bad line (default). False: skip bad lines and count them. */
  readonly strict?: boolean;
  /** Mark the traffic as keeping content (the writer then writes `text` instead of hashes). */
  readonly keepContent?: boolean;
}

export interface ImportResult {
  readonly header: TrafficHeader;
  /** In time order; every session event carries its content in `text` (the writer redacts it). */
  readonly events: readonly HookEvent[];
  readonly files: readonly string[];
  readonly counts: Readonly<Record<HookKind, number>>;
  /** Lines skipped as bad (always 0 when strict). */
  readonly skipped: number;
  /** The first MAX_KEPT_PROBLEMS problems behind `skipped`. */
  readonly problems: readonly InputError[];
}

/** Where a record was found; also its tie-break for sorting. */
interface Place {
  readonly fileIndex: number;
  readonly line: number;
}

interface ToolResult {
  readonly toolUseId: string;
  readonly isError: boolean;
  readonly responseText: string;
}

interface TranscriptRecord extends Place {
  readonly type: 'user' | 'assistant' | 'system';
  readonly session: string;
  readonly timeMs: number;
  readonly sidechain: boolean;
  readonly cwd: string | undefined;
  readonly messageId: string | undefined;
  /** user, main thread: the prompt's text; absent when the record is not a prompt. */
  readonly promptText?: string;
  readonly interrupt?: boolean;
  readonly toolResults?: readonly ToolResult[];
}

interface ToolUse {
  readonly name: string;
  readonly inputText: string;
}

/** Everything read from the files, before turns are found. */
interface Collected {
  readonly records: TranscriptRecord[];
  readonly toolUses: Map<string, ToolUse>;
  /** Text blocks of each assistant message, merged over the lines that share its message.id. */
  readonly assistantTexts: Map<string, string[]>;
}

/** Finds transcripts under `paths` (files, or directories searched recursively for *.jsonl), in a stable order. */
export function findTranscripts(paths: readonly string[]): string[] {
  const found: string[] = [];
  const walk = (directory: string, depth: number): void => {
    if (depth > MAX_DIRECTORY_DEPTH) return;
    const entries = readdirSync(directory, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(directory, entry.name);
      // Symbolic links are not followed: a link back up the tree would make the walk endless.
      if (entry.isDirectory()) walk(path, depth + 1);
      else if (entry.isFile() && entry.name.endsWith('.jsonl')) found.push(path);
    }
  };
  for (const path of paths) {
    let isDirectory: boolean;
    try {
      isDirectory = lstatSync(path).isDirectory();
    } catch (error) {
      throw new InputError(path, 0, '', `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    if (isDirectory) walk(path, 0);
    else found.push(path);
  }
  return [...new Set(found)];
}

export function importClaudeCode(paths: readonly string[], options: ImportOptions = {}): ImportResult {
  const strict = options.strict ?? true;
  const files = findTranscripts(paths);
  if (files.length === 0) throw new InputError(paths.join(', '), 0, '', 'holds no Claude Code transcripts (*.jsonl)');
  let skipped = 0;
  const problems: InputError[] = [];
  const skippedLines = new Set<string>();
  const report = (problem: InputError): void => {
    if (strict) throw problem;
    // One line may have several problems (e.g. two unmatched results); it is skipped once.
    const key = `${problem.file}:${problem.line}`;
    if (!skippedLines.has(key)) {
      skippedLines.add(key);
      skipped += 1;
    }
    if (problems.length < MAX_KEPT_PROBLEMS) problems.push(problem);
  };

  const collected: Collected = { records: [], toolUses: new Map(), assistantTexts: new Map() };
  const seenUuids = new Set<string>();
  // Records from every file are held until the events are built: their total is bounded up front.
  let totalBytes = 0;
  for (const file of files) {
    totalBytes += statSync(file, { throwIfNoEntry: false })?.size ?? 0;
    if (totalBytes > MAX_IMPORT_TOTAL_BYTES) {
      throw new InputError(file, 0, '', `brings the transcripts to more than ${MAX_IMPORT_TOTAL_BYTES} bytes in one import (MAX_IMPORT_TOTAL_BYTES): import fewer at a time`);
    }
  }
  files.forEach((file, fileIndex) => readTranscript(file, fileIndex, collected, seenUuids, report));

  const timed = sessionEvents(collected, files, report);
  timed.sort(compareTimed);
  const originMs = timed.length > 0 ? timed[0]!.timeMs : 0;
  const events = timed.map((item) => ({ ...item.event, atMs: item.timeMs - originMs }) as HookEvent);
  const counts = { 'session-start': 0, prompt: 0, 'tool-use': 0, stop: 0, 'session-end': 0, 'worker-restart': 0, sleep: 0 };
  for (const event of events) counts[event.kind] += 1;
  const header: TrafficHeader = {
    format: TRAFFIC_FORMAT,
    version: TRAFFIC_VERSION,
    source: 'import-claude-code',
    timeOrigin: new Date(originMs).toISOString(),
    redaction: options.keepContent ? 'content' : 'hash',
  };
  return { header, events, files, counts, skipped, problems };
}

// ---------------------------------------------------------------------------------------------
// Pass 1: read each line into a small record, keeping only what the traffic needs.
// ---------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;

/** One transcript is read whole; Claude Code's are megabytes, this is a hundred times the largest seen. */
export const MAX_TRANSCRIPT_BYTES = 512 * 1024 * 1024;
/** All transcripts of one import together (what is held in memory while the events are built). */
export const MAX_IMPORT_TOTAL_BYTES = 2 * 1024 * 1024 * 1024;

function readTranscript(file: string, fileIndex: number, collected: Collected, seenUuids: Set<string>, report: (problem: InputError) => void): void {
  // The bounded reader: a FIFO or a device refused by type, the size counted while reading.
  let text = readBoundedText(file, MAX_TRANSCRIPT_BYTES, 'MAX_TRANSCRIPT_BYTES', 'a Claude Code transcript (.jsonl)');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a byte-order mark is accepted
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index += 1) {
    const lineText = lines[index]!;
    if (lineText.trim() === '') continue;
    const line = index + 1;
    try {
      readRecord(lineText, file, { fileIndex, line }, collected, seenUuids);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      report(error);
    }
  }
}

function readRecord(lineText: string, file: string, place: Place, collected: Collected, seenUuids: Set<string>): void {
  const fail = (field: string, problem: string) => new InputError(file, place.line, field, problem);
  let parsed: unknown;
  try {
    parsed = JSON.parse(lineText);
  } catch (error) {
    throw fail('', `is not valid JSON (${(error as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw fail('', 'is not a JSON object');
  const record = parsed as Json;
  const type = record.type;
  if (!(KNOWN_RECORD_TYPES as readonly unknown[]).includes(type)) {
    throw fail('type', `is ${JSON.stringify(type) ?? 'missing'}, not a known record type (${KNOWN_RECORD_TYPES.join(', ')})`);
  }
  if (!TIMED_TYPES.has(type as string)) return;
  if (typeof record.timestamp !== 'string') throw fail('timestamp', `is missing; ${String(type)} records need one`);
  const timeMs = Date.parse(record.timestamp);
  if (!ISO_UTC.test(record.timestamp) || Number.isNaN(timeMs)) throw fail('timestamp', `is ${JSON.stringify(record.timestamp)}, expected an ISO-8601 UTC instant`);
  if (typeof record.sessionId !== 'string' || record.sessionId === '') throw fail('sessionId', `is missing; ${String(type)} records need one`);
  if (typeof record.uuid === 'string') {
    if (seenUuids.has(record.uuid)) return;
    seenUuids.add(record.uuid);
  }
  const base = {
    ...place,
    type: type as 'user' | 'assistant' | 'system',
    session: record.sessionId,
    timeMs,
    sidechain: record.isSidechain === true,
    cwd: typeof record.cwd === 'string' && record.cwd !== '' ? record.cwd : undefined,
    messageId: undefined,
  };
  if (type === 'system') {
    collected.records.push(base);
    return;
  }
  const message = record.message as Json | undefined;
  if (message === null || typeof message !== 'object' || !('content' in message)) throw fail('message.content', `is missing; ${String(type)} records need one`);
  const content = message.content;
  if (typeof content !== 'string' && !Array.isArray(content)) throw fail('message.content', 'is neither text nor a list of blocks');
  const blocks: Json[] = typeof content === 'string' ? [{ type: 'text', text: content }] : content.filter((block): block is Json => block !== null && typeof block === 'object');

  if (type === 'assistant') {
    const messageId = typeof message.id === 'string' ? message.id : `${file}:${place.line}`;
    const texts = collected.assistantTexts.get(messageId) ?? [];
    for (const block of blocks) {
      // A split message may repeat a block on each of its lines: keep each text and tool use once.
      if (block.type === 'text' && typeof block.text === 'string' && !texts.includes(block.text)) texts.push(block.text);
      if (block.type === 'tool_use' && typeof block.id === 'string' && !collected.toolUses.has(block.id)) {
        if (typeof block.name !== 'string' || block.name === '') throw fail('message.content.name', `of tool_use ${block.id} is missing`);
        collected.toolUses.set(block.id, { name: block.name, inputText: JSON.stringify(block.input ?? {}) });
      }
    }
    collected.assistantTexts.set(messageId, texts);
    collected.records.push({ ...base, messageId });
    return;
  }

  const results = blocks.filter((block) => block.type === 'tool_result');
  if (results.length > 0) {
    const toolResults = results.map((block): ToolResult => {
      if (typeof block.tool_use_id !== 'string') throw fail('message.content.tool_use_id', 'is missing from a tool_result');
      // The hook gets the structured result; with several results in one record it is ambiguous, so use each block's own.
      const response = results.length === 1 && record.toolUseResult !== undefined ? record.toolUseResult : block.content;
      return { toolUseId: block.tool_use_id, isError: block.is_error === true, responseText: asText(response) };
    });
    collected.records.push({ ...base, toolResults });
    return;
  }
  const texts = blocks.filter((block) => block.type === 'text' && typeof block.text === 'string').map((block) => block.text as string);
  const promptText = texts.join('\n');
  if (base.sidechain || record.isMeta === true || texts.length === 0 || promptText === '') {
    collected.records.push(base);
  } else if (promptText.startsWith(INTERRUPT_MARKER)) {
    collected.records.push({ ...base, interrupt: true });
  } else {
    collected.records.push({ ...base, promptText });
  }
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value ?? null);
}

// ---------------------------------------------------------------------------------------------
// Pass 2: per session, in time order, find session starts, prompts, tool uses and stops.
// ---------------------------------------------------------------------------------------------

/** A session event without its time (`Omit` applied to each member of the union). */
type UntimedEvent = SessionEvent extends infer E ? (E extends SessionEvent ? Omit<E, 'atMs'> : never) : never;

/** An event before its offset is known, with the sort key that places it. */
interface TimedEvent extends Place {
  readonly timeMs: number;
  /** Position within its line: a session start comes first, a stop last. */
  readonly order: number;
  readonly event: UntimedEvent;
}

const ORDER_SESSION_START = -1;
const ORDER_STOP = 1_000_000;

function compareTimed(a: TimedEvent, b: TimedEvent): number {
  return a.timeMs - b.timeMs || a.fileIndex - b.fileIndex || a.line - b.line || a.order - b.order;
}

function compareRecords(a: TranscriptRecord, b: TranscriptRecord): number {
  return a.timeMs - b.timeMs || a.fileIndex - b.fileIndex || a.line - b.line;
}

function sessionEvents(collected: Collected, files: readonly string[], report: (problem: InputError) => void): TimedEvent[] {
  const bySession = new Map<string, TranscriptRecord[]>();
  for (const record of collected.records) {
    const list = bySession.get(record.session);
    if (list) list.push(record);
    else bySession.set(record.session, [record]);
  }
  const events: TimedEvent[] = [];
  const seenResults = new Set<string>();
  for (const [session, records] of bySession) {
    records.sort(compareRecords);
    const first = records[0]!;
    const withCwd = records.find((record) => record.cwd !== undefined);
    // The projects dir name (…/projects/-Users-me-app/<session>.jsonl) when no record says its cwd.
    const project = withCwd ? basename(withCwd.cwd!) : basename(dirname(files[first.fileIndex]!));
    const at = (record: Place & { timeMs: number }, order: number, event: TimedEvent['event']): void => {
      events.push({ fileIndex: record.fileIndex, line: record.line, timeMs: record.timeMs, order, event });
    };
    at(first, ORDER_SESSION_START, { kind: 'session-start', session, project, source: 'startup' });

    let lastAssistant: TranscriptRecord | undefined;
    const stop = (): void => {
      if (lastAssistant === undefined) return;
      const text = (collected.assistantTexts.get(lastAssistant.messageId!) ?? []).join('\n');
      at(lastAssistant, ORDER_STOP, { kind: 'stop', session, project, messageChars: text.length, text });
      lastAssistant = undefined;
    };
    for (const record of records) {
      if (record.promptText !== undefined) {
        stop();
        at(record, 0, { kind: 'prompt', session, project, promptChars: record.promptText.length, text: record.promptText });
      } else if (record.interrupt) {
        lastAssistant = undefined;
      } else if (record.type === 'assistant' && !record.sidechain) {
        lastAssistant = record;
      }
      record.toolResults?.forEach((result, position) => {
        if (result.isError || seenResults.has(result.toolUseId)) return;
        seenResults.add(result.toolUseId);
        const toolUse = collected.toolUses.get(result.toolUseId);
        if (toolUse === undefined) {
          report(new InputError(files[record.fileIndex]!, record.line, 'tool_use_id', `${JSON.stringify(result.toolUseId)} has no matching tool_use`));
          return;
        }
        const text = toolUse.inputText + result.responseText;
        at(record, 1 + position, {
          kind: 'tool-use',
          session,
          project,
          toolName: toolUse.name,
          inputChars: toolUse.inputText.length,
          responseChars: result.responseText.length,
          text,
        });
      });
    }
    stop();
  }
  return events;
}
