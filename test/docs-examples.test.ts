/**
 * Every JSON and JSON Lines example in README.md and docs/*.md, copied out as a user would copy it,
 * validates as written: scenarios (and scenario fragments such as a "heap" section, placed into the
 * smallest scenario) load, expect files for `check --target` parse against the scenarios' names,
 * and traffic examples read and replay.
 *
 * And what the pages say a command prints is what it prints: each example output block is the
 * command run again (a stale line, count or trace hash fails), the README's count of flaws is
 * FLAW_NAMES's, and its command table names every command and every option the commands take.
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
import { COMMANDS } from '../sim/cli/commands.ts';
import { FLAW_NAMES } from '../src/baseline/flaws.ts';

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
  return Object.values(value).every((verdict) => verdict === 'pass' || (typeof verdict === 'object' && verdict !== null && ('failsOn' in verdict || 'seeds' in verdict)));
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

/**
 * The example output blocks a command produces, by the folder the example shows its reports in:
 * the block is the ```text block of `page` holding the line `reports: <reportsAs>/…`.
 */
const COMMAND_OUTPUTS = [
  { page: 'README.md', args: ['run', 'scenarios/steady-week.json', '--target', 'baseline', '--seed', '1'], reportsAs: 'reports/run-steady-week-baseline' },
  { page: 'docs/tune.md', args: ['tune', 'scenarios/steady-week.json', '--ttl', '15,60,240', '--max-sessions', '10,100', '--budget-mb', '200'], reportsAs: 'reports/tune-steady-week' },
] as const;

function outputBlock(page: string, reportsAs: string): string {
  const lines = readFileSync(join(ROOT, page), 'utf8').split('\n');
  const reportsLine = lines.findIndex((line) => line.startsWith(`reports: ${reportsAs}/`));
  expect(reportsLine, `${page}: no example output with "reports: ${reportsAs}/"`).toBeGreaterThan(0);
  const open = lines.lastIndexOf('```text', reportsLine);
  return lines.slice(open + 1, lines.indexOf('```', reportsLine)).join('\n');
}

const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];

/** A count as the README spells it (nineteen, twenty-three). */
function inWords(count: number): string {
  if (count < 20) return NUMBER_WORDS[count]!;
  return `${TENS[Math.floor(count / 10)]}${count % 10 ? `-${NUMBER_WORDS[count % 10]}` : ''}`;
}

/** The options a command's --help lists under "options:" (and further option sections), without --help. */
function helpOptions(help: string): string[] {
  const options = new Set<string>();
  for (const match of help.matchAll(/^ {2}(--[a-z][a-z-]*)/gm)) if (match[1] !== '--help') options.add(match[1]!);
  return [...options];
}

describe('what the documentation says a command prints', () => {
  it.each(COMMAND_OUTPUTS.map((example) => [`${example.page}: leaksim ${example.args.join(' ')}`, example] as const))('%s', async (_name, example) => {
    const dir = mkdtempSync(join(tmpdir(), 'leaksim-docs-'));
    const output = collectOutput();
    await main([...example.args, '--out', join(dir, 'out')], output);
    expect(output.stderr).toEqual([]);
    const printed = output.stdout.join('\n').split(join(dir, 'out')).join(example.reportsAs);
    expect(outputBlock(example.page, example.reportsAs)).toBe(printed.replace(/\n$/, ''));
  });

  it("the README's count of named flaws is FLAW_NAMES's", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(`built from ${inWords(FLAW_NAMES.length)} named flaws`);
  });

  it("docs/ci.md's count of the flaws steady-week targets is the scenario's", () => {
    const targeted = Object.keys(loadScenario(join(ROOT, 'scenarios/steady-week.json')).expect.flaws).length;
    expect(readFileSync(join(ROOT, 'docs/ci.md'), 'utf8').replace(/\s+/g, ' ')).toContain(`steady-week catches the ${inWords(targeted)} flaws it targets`);
  });

  it("the README's command table names every command and every option it takes", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const command of COMMANDS.keys()) {
      const rows = readme.split('\n').filter((line) => line.startsWith(`| \`leaksim ${command}`));
      expect(rows, `README.md: no row for leaksim ${command}`).not.toEqual([]);
      const output = collectOutput();
      await main([command, '--help'], output);
      for (const option of helpOptions(output.stdout.join('\n'))) expect(rows.join('\n'), `README.md: leaksim ${command} ${option}`).toContain(option);
    }
  });
});
