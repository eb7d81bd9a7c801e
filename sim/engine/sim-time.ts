/**
 * Simulated time as people read it. Every run starts on a Monday at 00:00 (day 0); reports,
 * progress lines and reproduce notes all write a moment the same way: "day 2 14:03:11.250".
 */
import { DAY_MS } from './traffic.ts';

/** "day 2 14:03:11.250": a run time as people read it (day 0 is the first Monday). */
export function formatSimTime(atMs: number): string {
  const day = Math.floor(atMs / DAY_MS);
  const ms = atMs - day * DAY_MS;
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  const time = `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1_000) % 60)}`;
  return `day ${day} ${time}${ms % 1_000 ? `.${pad(ms % 1_000, 3)}` : ''}`;
}

/** A duration as people read it: "850 ms", "12.5 s", "61.0 min", "3.2 h", "4.0 days". */
export function formatMs(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1_000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${(ms / 60_000).toFixed(1)} min`;
  if (ms < 172_800_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${(ms / 86_400_000).toFixed(1)} days`;
}
