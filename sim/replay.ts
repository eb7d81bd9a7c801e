/**
 * Recorded traffic as a stream for the driver: a traffic file played once or `repeat` times,
 * optionally faster. Each copy starts on the next day boundary after the recording's span (so a
 * copy keeps its times of day), and gets fresh session ids (`<id>#<copy>`), as if other sessions
 * did the same work. The file is read lazily, once per copy: memory stays constant.
 */
import type { HookEvent } from './events.ts';
import { openTrafficFile } from './traffic-file/reader.ts';
import { DAY_MS } from './traffic.ts';

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
  let lastMs = 0;
  for (const event of openTrafficFile(path, { strict }).events) lastMs = event.atMs;
  return lastMs;
}

export function* replayTraffic(path: string, options: ReplayOptions = {}): Generator<HookEvent> {
  const repeat = options.repeat ?? 1;
  const rate = options.rate ?? 1;
  const untilMs = options.untilMs ?? Infinity;
  const strict = options.strict ?? true;
  const file = openTrafficFile(path, { strict });
  const periodMs = repeat > 1 ? Math.ceil((recordingSpanMs(path, strict) + 1) / DAY_MS) * DAY_MS : 0;
  for (let copy = 0; copy < repeat; copy += 1) {
    for (const event of file.events) {
      const atMs = Math.round((event.atMs + copy * periodMs) / rate);
      if (atMs >= untilMs) return;
      if (copy === 0 || !('session' in event)) yield atMs === event.atMs ? event : { ...event, atMs };
      else yield { ...event, atMs, session: `${event.session}#${copy}` };
    }
  }
}
