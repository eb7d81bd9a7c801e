/**
 * An expectation file for `leaksim check --target <adapter> --expect FILE`: the verdict each
 * scenario should give for that one target, as scenario files state them for the built-in ones.
 *
 *   {
 *     "steady-week": "pass",
 *     "crashing-generators": { "failsOn": ["drains-when-quiet"], "why": "no watchdog for a hung call" }
 *   }
 *
 * A scenario the file does not name is expected to pass. Every problem is one InputError naming
 * the file, the line and the field.
 */
import { findNodeAtLocation, parseTree, printParseErrorCode, type Node, type ParseError } from '../../src/jsonc.ts';
import { InputError, lineOfOffset } from '../../src/input-error.ts';
import { checkedJsonText, readJsonText } from '../../src/json-text.ts';
import { type InvariantName, INVARIANTS } from '../check/catalogue.ts';
import type { Verdict } from './scenario.ts';

export type Expectations = ReadonlyMap<string, Verdict>;

export function loadExpectations(file: string, scenarioNames: readonly string[]): Expectations {
  return parseExpectations(readJsonText(file), file, scenarioNames);
}

export function parseExpectations(given: string, file: string, scenarioNames: readonly string[]): Expectations {
  const text = checkedJsonText(given, file);
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { allowTrailingComma: false, disallowComments: true });
  if (errors.length > 0 || !tree) {
    const first = errors[0];
    throw new InputError(file, first ? lineOfOffset(text, first.offset) : 1, '', `is not valid JSON (${first ? printParseErrorCode(first.error) : 'empty'})`);
  }
  const at = (path: (string | number)[]) => lineOfOffset(text, (findNodeAtLocation(tree, path) ?? tree).offset);
  if (tree.type !== 'object') throw new InputError(file, 1, '', 'must be an object of scenario names to verdicts ("pass" or {"failsOn": [invariant names]})');
  const expectations = new Map<string, Verdict>();
  for (const property of tree.children ?? []) {
    const name = property.children![0]!.value as string;
    const value = property.children![1]!;
    const line = lineOfOffset(text, property.offset);
    if (!scenarioNames.includes(name)) throw new InputError(file, line, name, `names no scenario; expected one of ${scenarioNames.join(', ')}`);
    const bySeed = value.type === 'object' ? findNodeAtLocation(value, ['seeds']) : undefined;
    if (!bySeed) {
      expectations.set(name, verdictOf(value, name, file, text, at));
      continue;
    }
    // {"seeds": {"1": verdict, "2": verdict}}: a target whose verdict differs by seed; a seed not listed is expected to pass.
    if ((value.children ?? []).length !== 1) throw new InputError(file, line, name, 'with "seeds", holds nothing else: {"seeds": {"1": verdict, …}}');
    if (bySeed.type !== 'object' || (bySeed.children ?? []).length === 0) throw new InputError(file, lineOfOffset(text, bySeed.offset), `${name}.seeds`, 'must be a non-empty object of seeds to verdicts, e.g. {"1": "pass", "2": {"failsOn": [...]}}');
    expectations.set(name, { pass: true });
    for (const entry of bySeed.children ?? []) {
      const seed = entry.children![0]!.value as string;
      if (!/^[1-9]\d{0,8}$/.test(seed)) throw new InputError(file, lineOfOffset(text, entry.offset), `${name}.seeds.${seed}`, 'is not a seed: expected a whole number from 1');
      expectations.set(seedKey(name, Number(seed)), verdictOf(entry.children![1]!, `${name}.seeds.${seed}`, file, text, () => at([name, 'seeds', seed])));
    }
  }
  return expectations;
}

function seedKey(scenario: string, seed: number): string {
  return `${scenario}\u0000seed ${seed}`;
}

/** The verdict a run of `scenario` with `seed` is held to: the seed's own, else the scenario's, else pass. */
export function expectedFor(expectations: Expectations, scenario: string, seed: number): Verdict {
  return expectations.get(seedKey(scenario, seed)) ?? expectations.get(scenario) ?? { pass: true };
}

function verdictOf(node: Node, name: string, file: string, text: string, at: (path: (string | number)[]) => number): Verdict {
  const expected = `expected "pass" or {"failsOn": [invariant names], "why": "..."}`;
  if (node.type === 'string' && node.value === 'pass') return { pass: true };
  if (node.type !== 'object') throw new InputError(file, lineOfOffset(text, node.offset), name, `${expected}, got ${text.slice(node.offset, node.offset + node.length)}`);
  for (const property of node.children ?? []) {
    const key = property.children![0]!.value as string;
    if (key !== 'failsOn' && key !== 'why') throw new InputError(file, lineOfOffset(text, property.offset), `${name}.${key}`, `is not a field; ${expected}`);
  }
  const failsOn = findNodeAtLocation(node, ['failsOn']);
  if (!failsOn || failsOn.type !== 'array' || (failsOn.children ?? []).length === 0) throw new InputError(file, at([name]), `${name}.failsOn`, 'must be a non-empty array of invariant names');
  const invariants = (failsOn.children ?? []).map((child, index) => {
    if (child.type !== 'string' || !Object.hasOwn(INVARIANTS, child.value as string)) {
      throw new InputError(file, lineOfOffset(text, child.offset), `${name}.failsOn.${index}`, `is not an invariant; expected one of ${Object.keys(INVARIANTS).join(', ')}`);
    }
    return child.value as InvariantName;
  });
  const why = findNodeAtLocation(node, ['why']);
  if (why && why.type !== 'string') throw new InputError(file, lineOfOffset(text, why.offset), `${name}.why`, 'must be a string');
  return { failsOn: invariants };
}
