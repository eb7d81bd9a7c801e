/**
 * What the bounds let through: files with a byte-order mark, the smallest scenario, the shipped
 * scenarios under the hook-event ceiling, a recording replayed from its own time of day, and a
 * scenario whose recording is bad refused at load, before any run.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { METRIC_COLUMNS, MAX_METRIC_ROWS, metricsCsv, thinSamples } from '../../sim/report/report.ts';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/settings.ts';
import { scenarioFiles } from '../../sim/cli/check.ts';
import { replayTraffic } from '../../sim/runs/replay.ts';
import { loadScenario } from '../../sim/runs/scenario.ts';
import { DEFAULT_TRAFFIC, estimateHookEvents, HOUR_MS, MAX_HOOK_EVENTS, teamTraffic } from '../../sim/engine/traffic.ts';

const BOM = '\ufeff';
const HEADER = '{"format":"leaksim-traffic","version":1,"source":"generate","timeOrigin":"2026-01-05T09:30:00.000Z","redaction":"hash"}';
const START = '{"atMs":0,"kind":"session-start","session":"s-1","project":"demo","source":"startup"}';
const PROMPT = '{"atMs":1200,"kind":"prompt","session":"s-1","project":"demo","promptChars":21}';

function scratch(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'leaksim-bounds-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('input bounds', () => {
  it('accepts a byte-order mark in scenario, settings and traffic files', () => {
    const dir = scratch({
      's.json': `${BOM}{ "name": "bom", "traffic": { "developers": 1 } }`,
      'settings.json': `${BOM}{ "CLAUDE_MEM_SESSION_TTL_MINUTES": "30" }`,
      't.jsonl': `${BOM}${HEADER}\n${START}\n`,
    });
    expect(loadScenario(join(dir, 's.json')).name).toBe('bom');
    expect(loadSettings(join(dir, 'settings.json')).ttlMs).toBe(30 * 60_000);
    expect([...replayTraffic(join(dir, 't.jsonl'))]).toHaveLength(1);
  });

  it('gives every field but name and traffic its default', () => {
    const scenario = loadScenario(join(scratch({ 's.json': '{ "name": "smallest", "traffic": { "developers": 2 } }' }), 's.json'));
    expect(scenario).toMatchObject({ description: '', days: 7, seeds: [1], expect: { reference: { pass: true }, flaws: {} } });
  });

  it('keeps every shipped scenario under the hook-event ceiling (an upper bound, about 3.4 × the average)', () => {
    for (const file of scenarioFiles('scenarios')) {
      const scenario = loadScenario(file);
      if (scenario.traffic.kind === 'model') expect(estimateHookEvents(scenario.traffic.model, scenario.days)).toBeLessThan(MAX_HOOK_EVENTS / 3);
    }
  });

  it('bounds the events of a skewed model from above: a day of 0.001 sessions still gets one session', () => {
    const skewed = { developers: 1, sessionsPerDay: 0.001, promptsPerSession: 10_000, toolUsesPerPrompt: 100_000 };
    // The old average (developers × days × sessions × …) said about 1,000,000 for a year; a run makes ~1e9.
    expect(estimateHookEvents(skewed, 366)).toBeGreaterThan(MAX_HOOK_EVENTS);
    const played = [...teamTraffic({ ...DEFAULT_TRAFFIC, developers: 1, sessionsPerDay: 0.001, promptsPerSession: 3, toolUsesPerPrompt: 5, days: 7 }, 1)].length;
    expect(played).toBeLessThanOrEqual(estimateHookEvents({ developers: 1, sessionsPerDay: 0.001, promptsPerSession: 3, toolUsesPerPrompt: 5 }, 7));
    expect(played).toBeGreaterThan(0);
  });

  it("replays a recording from its own time of day, and each copy a day later at the same time", () => {
    const file = join(scratch({ 't.jsonl': `${HEADER}\n${START}\n${PROMPT}\n` }), 't.jsonl');
    const events = [...replayTraffic(file, { repeat: 2 })];
    expect(events.map((event) => event.atMs)).toEqual([9.5 * HOUR_MS, 9.5 * HOUR_MS + 1200, 33.5 * HOUR_MS, 33.5 * HOUR_MS + 1200]);
  });

  it('refuses a scenario whose recording has a bad line when it is loaded, before any run', () => {
    const dir = scratch({ 't.jsonl': `${HEADER}\n${START}\n{"atMs":5,"kind":"stop"}\n`, 's.json': '{ "name": "recorded", "traffic": { "file": "t.jsonl" } }' });
    expect(() => loadScenario(join(dir, 's.json'))).toThrow(/t\.jsonl:3: session is missing/);
  });
});

describe('report size', () => {
  const sample = (index: number) => ({ atMs: index * 15 * 60_000, activeSessions: index === 20_000 ? 999 : index % 7, generatorsRunning: 0, historyMessages: index % 11, historyChars: 0, pending: 0, timers: 0, listeners: 0, refusedSessions: Math.floor(index / 100), evictions: 0, expirations: 0, trimmedMessages: 0, coldResumes: 0 });

  it('thins a year of 15-minute samples to MAX_METRIC_ROWS rows, keeping every peak and the counters\' latest values', () => {
    const year = Array.from({ length: 366 * 96 }, (_, index) => sample(index));
    const lines = metricsCsv(year).trimEnd().split('\n');
    expect(lines.length - 1).toBeLessThanOrEqual(MAX_METRIC_ROWS);
    expect(lines.some((line) => line.split(',')[METRIC_COLUMNS.indexOf('activeSessions') + 1] === '999')).toBe(true); // the one burst survives
    expect(lines.at(-1)!.split(',')[METRIC_COLUMNS.indexOf('refusedSessions') + 1]).toBe(String(Math.floor((year.length - 1) / 100)));
    // The full-length series (a broken twin with no thinning) would be 35,136 rows.
    expect(year.length).toBeGreaterThan(MAX_METRIC_ROWS);
  });

  it('leaves a series within the limit as it is (so a merge writes the same bytes)', () => {
    const week = Array.from({ length: 7 * 96 }, (_, index) => sample(index));
    expect(thinSamples(week)).toBe(week);
  });
});
