/**
 * Recorded traffic as a stream for the driver: a traffic file played once or `repeat` times,
 * optionally faster. The first copy starts at the recording's own time of day (UTC, from the
 * header's timeOrigin); each later copy on the next day boundary after the one before (so a copy
 * keeps its times of day), and gets fresh session ids (`<id>#<copy>`), as if other sessions
 * did the same work. The file is read lazily, once per copy: memory stays constant.
 */
import type { HookEvent } from '../engine/events.ts';
import { openTrafficFile } from '../traffic-file/reader.ts';
import { DAY_MS } from '../engine/traffic.ts';

export interface ReplayOptions {
  readonly repeat?: number;
  /** 2 plays the recording in half the time. */
  readonly rate?: number;
  /** Events at or after this offset (after scaling) are not played. */
  readonly untilMs?: number;
  readonly strict?: boolean;
}

/** The recording's span: the offset of its last event. One pass over the file. */
export function recordingSpanMs(path: string, strict = true): number {
  return recordingStats(path, strict).spanMs;
}

export interface RecordingStats {
  /** The offset of the last event. */
  readonly spanMs: number;
  readonly events: number;
  /** The recording's own time of day (UTC) at its time origin: where on day 0 it starts playing. */
  readonly startOfDayMs: number;
}

/** Span, event count and starting time of day: one pass over the file, which also validates every line. */
export function recordingStats(path: string, strict = true): RecordingStats {
  const file = openTrafficFile(path, { strict });
  let spanMs = 0;
  let events = 0;
  for (const event of file.events) {
    spanMs = event.atMs;
    events += 1;
  }
  return { spanMs, events, startOfDayMs: startOfDayMs(file.header.timeOrigin) };
}

/** 09:00:00Z → 9 hours: read from the header's text, never from a clock. */
export function startOfDayMs(timeOrigin: string): number {
  const originMs = Date.parse(timeOrigin);
  return ((originMs % DAY_MS) + DAY_MS) % DAY_MS;
}

/** The period between copies: whole days, so that each copy keeps the recording's times of day. */
function copyPeriodMs(stats: Pick<RecordingStats, 'spanMs' | 'startOfDayMs'>): number {
  return Math.ceil((stats.startOfDayMs + stats.spanMs + 1) / DAY_MS) * DAY_MS;
}

/** Simulated days that play every copy of the recording at `rate`. */
export function replayDays(stats: RecordingStats, repeat: number, rate: number): number {
  const lastMs = stats.startOfDayMs + ((repeat - 1) * copyPeriodMs(stats) + stats.spanMs) / rate;
  return Math.max(1, Math.ceil((lastMs + 1) / DAY_MS));
}

export function* replayTraffic(path: string, options: ReplayOptions = {}): Generator<HookEvent> {
  const repeat = options.repeat ?? 1;
  const rate = options.rate ?? 1;
  const untilMs = options.untilMs ?? Infinity;
  const strict = options.strict ?? true;
  const file = openTrafficFile(path, { strict });
  // Day 0 begins at midnight: the recording starts at its own time of day.
  const startMs = startOfDayMs(file.header.timeOrigin);
  const periodMs = repeat > 1 ? copyPeriodMs({ spanMs: recordingSpanMs(path, strict), startOfDayMs: startMs }) : 0;
  for (let copy = 0; copy < repeat; copy += 1) {
    for (const event of file.events) {
      const atMs = startMs + Math.round((event.atMs + copy * periodMs) / rate);
      if (atMs >= untilMs) return;
      if (copy === 0 || !('session' in event)) yield atMs === event.atMs ? event : { ...event, atMs };
      else yield { ...event, atMs, session: `${event.session}#${copy}` };
    }
  }
}
