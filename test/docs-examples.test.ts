/**
 * Every JSON and JSON Lines example in README.md and docs/*.md, copied out as a user would copy it,
 * validates as written: scenarios (and scenario fragments such as a "heap" section, placed into the
 * smallest scenario) load, expect files for `check --target` parse against the scenarios' names,
 * and traffic examples read and replay.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../sim/cli/main.ts';
import { collectOutput } from '../sim/cli/output.ts';
import { parseExpectations } from '../sim/runs/expect-file.ts';
import { DEFAULT_SETTINGS, loadSettings } from '../src/settings.ts';
import { loadScenario, parseScenario } from '../sim/runs/scenario.ts';
import { scenarioFiles } from '../sim/cli/check.ts';
import { parseTraffic, readAllEvents } from '../sim/traffic-file/reader.ts';

const ROOT = resolve(import.meta.dirname, '..');
const PAGES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

interface Example {
  readonly page: string;
  readonly line: number;
  readonly language: 'json' | 'jsonl';
  readonly text: string;
}

function examples(): Example[] {
  const found: Example[] = [];
  for (const page of PAGES) {
    const lines = readFileSync(join(ROOT, page), 'utf8').split('\n');
    for (let index = 0; index < lines.length; index += 1) {
      const open = /^```(jsonl|json)\s*$/.exec(lines[index]!);
      if (!open) continue;
      const end = lines.indexOf('```', index + 1);
      found.push({ page, line: index + 1, language: open[1] as 'json' | 'jsonl', text: `${lines.slice(index + 1, end).join('\n')}\n` });
      index = end;
    }
  }
  return found;
}

/** A claude-mem settings.json (--settings, and what tune recommends): CLAUDE_MEM_* keys. */
function isSettingsFile(text: string): boolean {
  const trimmed = text.trim();
  return trimmed.startsWith('{') && Object.keys(JSON.parse(trimmed) as object).every((key) => key.startsWith('CLAUDE_MEM_'));
}

/** An expect file (check --target --expect) maps scenario names to "pass" or { failsOn }. */
function isExpectFile(text: string): boolean {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return false;
  const value = JSON.parse(trimmed) as Record<string, unknown>;
  return Object.values(value).every((verdict) => verdict === 'pass' || (typeof verdict === 'object' && verdict !== null && 'failsOn' in verdict));
}

const MINIMAL = { name: 'docs-example', traffic: { developers: 1 } };

describe('documentation examples', () => {
  const all = examples();

  it('finds the examples (a scenario, the smallest scenario, a heap section, a traffic file)', () => {
    expect(all.length).toBeGreaterThanOrEqual(4);
  });

  it.each(all.filter((example) => example.language === 'json' && isExpectFile(example.text)).map((example) => [`${example.page}:${example.line}`, example] as const))('%s validates as an expect file', (place, example) => {
    const names = scenarioFiles(join(ROOT, 'scenarios')).map((file) => loadScenario(file).name);
    expect(parseExpectations(example.text, place, names).size).toBeGreaterThan(0);
  });

  it.each(all.filter((example) => example.language === 'json' && isSettingsFile(example.text)).map((example) => [`${example.page}:${example.line}`, example] as const))('%s loads as a settings file', (place, example) => {
    const dir = mkdtempSync(join(tmpdir(), 'leaksim-docs-'));
    writeFileSync(join(dir, 'settings.json'), example.text);
    expect(loadSettings(join(dir, 'settings.json'))).not.toEqual(DEFAULT_SETTINGS);
  });

  it.each(all.filter((example) => example.language === 'json' && !isExpectFile(example.text) && !isSettingsFile(example.text)).map((example) => [`${example.page}:${example.line}`, example] as const))('%s validates as a scenario', async (place, example) => {
    const trimmed = example.text.trim();
    // A fragment ("heap": {...}) goes into the smallest scenario; a whole object is a scenario.
    const text = trimmed.startsWith('{') ? trimmed : JSON.stringify({ ...MINIMAL, ...JSON.parse(`{${trimmed}}`) });
    const file = join(ROOT, 'scenarios', `${place.replace(/[/:.]/g, '-')}.json`); // where "$schema": "./scenario.schema.json" resolves
    const scenario = parseScenario(text, file);
    expect(scenario.name).toMatch(/^[a-z0-9-]+$/);
    // And it runs, for a day (exit 0 or 1: a verdict, never bad input).
    const dir = mkdtempSync(join(tmpdir(), 'leaksim-docs-'));
    writeFileSync(join(dir, 's.json'), text);
    const output = collectOutput();
    const code = await main(['run', join(dir, 's.json'), '--days', '1', '--seed', '1', '--out', join(dir, 'out')], output);
    expect(output.stderr).toEqual([]);
    expect([0, 1]).toContain(code);
  });

  it.each(all.filter((example) => example.language === 'jsonl').map((example) => [`${example.page}:${example.line}`, example] as const))('%s reads and replays as a traffic file', async (place, example) => {
    const events = readAllEvents(parseTraffic(example.text, { file: place }));
    expect(events.length).toBeGreaterThan(0);
    const dir = mkdtempSync(join(tmpdir(), 'leaksim-docs-'));
    writeFileSync(join(dir, 't.jsonl'), example.text);
    const output = collectOutput();
    const code = await main(['replay', join(dir, 't.jsonl'), '--out', join(dir, 'out')], output);
    expect(output.stderr).toEqual([]);
    expect([0, 1]).toContain(code);
  });
});
