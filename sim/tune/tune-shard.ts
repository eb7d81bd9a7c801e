/**
 * A tune grid over many machines: `tune --shard i/n` runs every n-th task of the grid (setting ×
 * seed, in grid order) from the i-th and writes only what it ran, and `leaksim merge` joins the n
 * shard folders into the report of the grid run whole, byte for byte.
 *
 * A shard judges nothing (a frontier needs every setting), so its folder holds the raw runs, in a
 * summary.json that says it is shard i of n of the grid with this fingerprint, and a summary.md
 * that says how to join it. The fingerprint is SHA-256 over everything that decides the report
 * (scenario, target, grid, seeds, days, budget, margin), without the absolute paths of the machine
 * that ran it: shards of another grid, a missing shard and a shard given twice are refused.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../src/input-error.ts';
import type { Scenario } from '../runs/scenario.ts';
import { TUNE_FORMAT_VERSION } from './tune-report.ts';
import { COST_FIELDS, DIMENSIONS, type TuneInput, type TuneRun } from './tune.ts';

/** `--shard i/n`, 1 ≤ i ≤ n. */
export interface TuneShard {
  readonly index: number;
  readonly count: number;
}

/** summary.json larger than this is not a tune shard's (5,000 runs with their series are well under). */
const MAX_SUMMARY_BYTES = 256 * 2 ** 20;

/** The tasks of shard `index` of `count`: every count-th task, from position index − 1. */
export function tasksOfShard<T>(tasks: readonly T[], shard: TuneShard): T[] {
  return tasks.filter((_, position) => position % shard.count === shard.index - 1);
}

/** The input as the report sees it: the scenario's absolute paths replaced by the file as named. */
function portableInput(input: TuneInput): TuneInput {
  const traffic = input.scenario.traffic as Scenario['traffic'] & { path?: string };
  const scenario = { ...input.scenario, file: input.source.file, traffic: traffic.path === undefined ? traffic : { ...traffic, path: input.source.file } } as Scenario;
  return { ...input, scenario };
}

/** 16 hex digits of SHA-256 over what decides the grid's report: the same grid gives the same fingerprint on every machine. */
export function gridFingerprint(input: TuneInput): string {
  return createHash('sha256').update(JSON.stringify(portableInput(input))).digest('hex').slice(0, 16);
}

/** A shard's summary.json: the input, which shard of how many tasks, and the runs it made, in task order. */
export function tuneShardJson(input: TuneInput, shard: TuneShard, taskCount: number, runs: readonly TuneRun[], command: string): string {
  const body = {
    leaksimTune: TUNE_FORMAT_VERSION,
    command,
    shard: { index: shard.index, count: shard.count, tasks: taskCount, grid: gridFingerprint(input) },
    input: portableInput(input),
    runs,
  };
  return `${JSON.stringify(body, null, 2)}\n`;
}

export function tuneShardMarkdown(input: TuneInput, shard: TuneShard, taskCount: number, runs: readonly TuneRun[], command: string): string {
  return [
    `# leaksim tune: shard ${shard.index}/${shard.count} of grid ${gridFingerprint(input)}`,
    '',
    `\`${command} --shard ${shard.index}/${shard.count}\``,
    '',
    `${runs.length} of the grid's ${taskCount} runs (settings × seeds) of ${input.scenario.name}. A shard judges nothing: join every shard's folder with \`leaksim merge <folders> --out DIR\` for the frontier and the recommendation (docs/tune.md).`,
    '',
  ].join('\n');
}

interface ShardSummary {
  readonly file: string;
  readonly command: string;
  readonly shard: { readonly index: number; readonly count: number; readonly tasks: number; readonly grid: string };
  readonly input: TuneInput;
  readonly runs: readonly TuneRun[];
}

/** Whether `dir` holds the report of a `tune --shard` run (what `leaksim merge` asks first). */
export function isTuneShardReport(dir: string): boolean {
  try {
    const body = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as { leaksimTune?: unknown };
    return body.leaksimTune !== undefined;
  } catch {
    return false;
  }
}

function readShard(dir: string): ShardSummary {
  const file = join(dir, 'summary.json');
  let body: Partial<ShardSummary> & { leaksimTune?: unknown; shard?: unknown };
  try {
    const text = readFileSync(file, 'utf8');
    if (text.length > MAX_SUMMARY_BYTES) throw new InputError(file, 0, '', `is larger than ${MAX_SUMMARY_BYTES} bytes: not a tune shard's report`);
    body = JSON.parse(text) as typeof body;
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(file, 0, '', `cannot be read as JSON (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (body.leaksimTune !== TUNE_FORMAT_VERSION) throw new InputError(file, 0, 'leaksimTune', `is ${JSON.stringify(body.leaksimTune)}; this leaksim merges tune format ${TUNE_FORMAT_VERSION}`);
  const shard = body.shard as ShardSummary['shard'] | undefined;
  if (!shard || typeof shard !== 'object' || typeof shard.index !== 'number' || typeof shard.count !== 'number' || typeof shard.tasks !== 'number' || typeof shard.grid !== 'string') {
    throw new InputError(file, 0, 'shard', 'is missing: this is the report of a whole tune run, not of a tune --shard run');
  }
  if (!Array.isArray(body.runs) || !body.input || typeof body.command !== 'string') throw new InputError(file, 0, 'runs', 'must be a list, beside input and command');
  const input = body.input as Partial<TuneInput>;
  if (!input.scenario || typeof input.scenario !== 'object' || !input.source || typeof input.source.file !== 'string' || !Array.isArray(input.seeds) || !input.grid || DIMENSIONS.some((dimension) => !Array.isArray(input.grid![dimension]))) {
    throw new InputError(file, 0, 'input', 'must hold the scenario, source, grid and seeds the shard ran');
  }
  if (gridFingerprint(body.input) !== shard.grid) throw new InputError(file, 0, 'input', `does not give the grid fingerprint ${shard.grid} the shard names: the file was changed after the shard wrote it`);
  const settingCount = DIMENSIONS.reduce((product, dimension) => product * body.input!.grid[dimension].length, 1);
  body.runs.forEach((run: unknown, position: number) => {
    const problem = runProblem(run, settingCount, body.input!.seeds);
    if (problem) throw new InputError(file, 0, `runs[${position}]`, problem);
  });
  return { file, command: body.command, shard, input: body.input, runs: body.runs };
}

/** What is wrong with a run read back from a shard (undefined: nothing the judging relies on). */
function runProblem(value: unknown, settingCount: number, seeds: readonly number[]): string | undefined {
  if (!value || typeof value !== 'object') return 'must be an object';
  const run = value as Record<string, unknown>;
  if (!Number.isInteger(run.setting) || (run.setting as number) < 0 || (run.setting as number) >= settingCount) return `setting must be a whole number below ${settingCount}`;
  if (!seeds.includes(run.seed as number)) return `seed must be one of the grid's seeds (${seeds.join(', ')})`;
  if (!['pass', 'fail', 'error'].includes(run.verdict as string)) return 'verdict must be pass, fail or error';
  const notNumber = COST_FIELDS.find((field) => typeof run[field] !== 'number' || !Number.isFinite(run[field]));
  return notNumber === undefined ? undefined : `${notNumber} must be a number`;
}

/** The shards' runs back in task order, with the input and command of the grid run whole. */
export function mergeTuneShards(dirs: readonly string[]): { input: TuneInput; runs: TuneRun[]; command: string } {
  if (dirs.length === 0) throw new InputError('leaksim merge', 0, '', 'expected the report folders of every shard');
  const shards = dirs.map(readShard);
  const first = shards[0]!;
  const { count, tasks, grid } = first.shard;
  for (const shard of shards) {
    if (shard.shard.grid !== grid || shard.shard.count !== count || shard.shard.tasks !== tasks) {
      throw new InputError(shard.file, 0, 'shard', `is shard ${shard.shard.index}/${shard.shard.count} of tune grid ${shard.shard.grid}; ${first.file} is of grid ${grid} in ${count} shards: not the same grid`);
    }
  }
  const byIndex = new Map<number, ShardSummary>();
  for (const shard of shards) {
    const seen = byIndex.get(shard.shard.index);
    if (seen) throw new InputError(shard.file, 0, 'shard', `${shard.shard.index}/${count} is given twice (also ${seen.file})`);
    byIndex.set(shard.shard.index, shard);
  }
  const missing = Array.from({ length: count }, (_, index) => index + 1).filter((index) => !byIndex.has(index));
  if (missing.length > 0) throw new InputError('leaksim merge', 0, '', `shard${missing.length === 1 ? '' : 's'} ${missing.map((index) => `${index}/${count}`).join(', ')} of tune grid ${grid} missing`);
  for (const shard of byIndex.values()) {
    const expected = Math.floor((tasks - shard.shard.index) / count) + 1;
    if (shard.runs.length !== expected) throw new InputError(shard.file, 0, 'runs', `holds ${shard.runs.length} runs; shard ${shard.shard.index}/${count} of ${tasks} runs has ${expected}`);
  }
  const runs: TuneRun[] = [];
  for (let position = 0; position < tasks; position += 1) runs.push(byIndex.get((position % count) + 1)!.runs[Math.floor(position / count)]!);
  const whole = byIndex.get(1)!;
  return { input: whole.input, runs, command: whole.command };
}
