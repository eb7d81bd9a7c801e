import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FLAW_NAMES } from '../../src/baseline/flaws.ts';
import { InputError } from '../../src/input-error.ts';
import { scenarioFiles } from '../../sim/cli/check.ts';
import { main } from '../../sim/cli/main.ts';
import { collectOutput } from '../../sim/cli/output.ts';
import { inputErrorOf } from '../helpers/input-error.ts';
import { INVARIANT_NAMES } from '../../sim/check/catalogue.ts';
import { loadScenario, parseScenario, schemaEnums } from '../../sim/runs/scenario.ts';

const valid = {
  name: 'tiny',
  description: 'a tiny scenario',
  days: 1,
  seeds: [1],
  traffic: { developers: 1 },
  expect: { reference: 'pass' },
};

function errorOf(text: string): InputError {
  return inputErrorOf(() => parseScenario(text, 'bad.json'));
}

describe('scenario files', () => {
  it('every shipped scenario loads', () => {
    const files = scenarioFiles('scenarios');
    expect(files.length).toBeGreaterThanOrEqual(10);
    for (const file of files) expect(loadScenario(file).seeds.length).toBeGreaterThan(0);
  });

  it("the schema's flaw and invariant names are exactly the code's", () => {
    const enums = schemaEnums();
    expect([...enums.flaws].sort()).toEqual([...FLAW_NAMES].sort());
    expect([...enums.invariants].sort()).toEqual([...INVARIANT_NAMES].sort());
  });

  it('fills in defaults', () => {
    const scenario = parseScenario(JSON.stringify(valid), 'tiny.json');
    expect(scenario.settings.ttlMs).toBe(60 * 60_000);
    expect(scenario.settings.maxActiveSessions).toBe(100);
    expect(scenario.sessionEndRoute).toBe('none');
    expect(scenario.expect.reference).toEqual({ pass: true });
  });

  it.each([
    ['invalid JSON', '{\n  "name": "x",\n  "days": 1,,\n}', 3, '', /is not valid JSON/],
    ['an unknown field', JSON.stringify({ ...valid, traffic: { developers: 1, developer: 2 } }, null, 2), 10, 'traffic.developer', /is not a known field/],
    ['a value out of range', JSON.stringify({ ...valid, traffic: { developers: 0 } }, null, 2), 9, 'traffic.developers', /must be >= 1, got 0/],
    ['a missing field', JSON.stringify({ ...valid, traffic: undefined }, null, 2), 1, 'traffic', /is required/],
    ['a misspelt verdict', JSON.stringify({ ...valid, expect: { reference: 'passes' } }, null, 2), 12, 'expect.reference', /expected "pass" or \{"failsOn".*got "passes"/],
    ['an unknown invariant', JSON.stringify({ ...valid, expect: { reference: { failsOn: ['no-leaks'] } } }, null, 2), 14, 'expect.reference.failsOn.0', /expected one of "sessions-within-cap".*got "no-leaks"/],
    ['an unknown flaw', JSON.stringify({ ...valid, expect: { reference: 'pass', flaws: { 'no-cap': 'pass' } } }, null, 2), 14, 'expect.flaws.no-cap', /is not a known name: expected one of "no-idle-cleanup"/],
    ['a fault after the last day', JSON.stringify({ ...valid, faults: { workerRestarts: [{ day: 1, hour: 3 }] } }, null, 2), 17, 'faults.workerRestarts.0.day', /must be below days \(1/],
  ])('reject %s with the line and field', (_name, text, line, field, problem) => {
    const error = errorOf(text);
    expect(error.file).toBe('bad.json');
    expect(error.line).toBe(line);
    expect(error.field).toBe(field);
    expect(error.message).toMatch(problem);
  });

  it('the CLI reports a bad scenario in one line with exit code 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leaksim-scenario-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ ...valid, days: 0 }, null, 2));
    for (const command of [['run', file], ['check', file]]) {
      const output = collectOutput();
      expect(await main(command, output)).toBe(2);
      expect(output.stderr).toEqual([`leaksim: ${file}:4: days must be >= 1, got 0`]);
      expect(output.stdout).toEqual([]);
    }
  });

  it('the CLI refuses unknown commands, targets and options with exit code 2', async () => {
    for (const [args, message] of [
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['run', 'scenarios/steady-week.json', '--target', 'nope'], /unknown target 'nope'/],
      [['run', 'scenarios/steady-week.json', '--seed', 'x'], /--seed expected a whole number/],
      [['check', '--colour'], /Unknown option '--colour'/],
    ] as const) {
      const output = collectOutput();
      expect(await main(args, output)).toBe(2);
      expect(output.stderr.join('\n')).toMatch(message);
    }
  });
});
