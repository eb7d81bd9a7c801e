/** `leaksim tune <scenario | traffic.jsonl>`: retention settings over a grid, weighed by what they cost. */
import { availableParallelism } from 'node:os';
import { basename, resolve } from 'node:path';
import { InputError } from '../../src/input-error.ts';
import { DEFAULT_SETTINGS, MINUTE_MS, SETTING_KEYS, type RetentionSettings } from '../../src/settings.ts';
import { DEFAULT_AGENT } from '../engine/agent.ts';
import { tuneReportHtml } from '../tune/tune-page.ts';
import { folderPart, writeReportFolder } from '../report/report-folder.ts';
import { scenarioPath } from '../runs/scenario-files.ts';
import { recordingSpanMs } from '../runs/replay.ts';
import { checkScenarioSize, loadScenario, type Scenario } from '../runs/scenario.ts';
import { resolveTargetToRunIsolated as resolveTarget } from '../targets/targets.ts';
import { DAY_MS } from '../engine/traffic.ts';
import { DEFAULT_MARGIN_PERCENT, judgeGrid, tuneTasks, type Dimension, type Grid, type TuneInput, type TuneResult } from '../tune/tune.ts';
import { runTasks } from '../tune/tune-pool.ts';
import { tasksOfShard, tuneShardJson, tuneShardMarkdown, type TuneShard } from '../tune/tune-shard.ts';
import { recommendedSettingsFile, SETTINGS_FILE_NAME, tuneCsv, tuneSummaryJson, tuneSummaryMarkdown, tuneTable } from '../tune/tune-report.ts';
import type { Output } from './output.ts';
import { EXIT_GATE_FAILED, EXIT_OK, parseOptions, positiveNumber, reportFolder, wholeNumber } from './shared.ts';

export const TUNE_HELP = `usage: leaksim tune <scenario.json | traffic.jsonl> [options]

Runs the scenario (or recorded traffic) under every setting of a grid, for each seed, and weighs
what each costs: memory (modelled bytes, peak and 95th percentile), context lost (cold resumes,
dropped and trimmed history messages) and work refused (sessions refused at the cap). Prints the
table, the Pareto frontier (memory against context lost) and a recommendation: the setting that
loses the least context whose peak memory fits the budget with a margin, with no refusals and no
invariant violated; ties go to the smaller memory. Writes summary.md, summary.json, tune.csv,
report.html and the recommendation as claude-mem's settings.json. See docs/tune.md.
Exit 0 when a setting fits, 1 when none does, 2 for bad input.

grid (comma-separated lists; a setting left out keeps the scenario's value):
  --ttl MINUTES,...         session TTL in minutes            (CLAUDE_MEM_SESSION_TTL_MINUTES)
  --max-sessions N,...      sessions held in memory at most   (CLAUDE_MEM_MAX_ACTIVE_SESSIONS)
  --max-history N,...       history messages per session      (CLAUDE_MEM_MAX_CONVERSATION_HISTORY)
  --max-tokens N,...        history tokens per session        (CLAUDE_MEM_MAX_HISTORY_TOKENS)

options:
  --seeds N,...       seeds to average over (default: the scenario's; 1 for a traffic file)
  --days N            override the length
  --target NAME       reference (default), baseline, twin, flaw:<name>, or an adapter module path
  --budget-mb N       memory budget in MB (10^6 bytes); without it memory only breaks ties
  --margin PERCENT    headroom a recommendation keeps under the budget (default ${DEFAULT_MARGIN_PERCENT})
  --jobs N            runs in parallel, in worker threads (default: the number of cores)
  --shard I/N         run only every N-th run of the grid from the I-th (for N CI machines);
                      the folder holds that shard's runs, and 'leaksim merge' joins the N
                      folders into this report, byte for byte (see docs/ci.md)
  --out DIR           report folder (default reports/tune-<name>)
  --json              print summary.json to stdout instead of the table

The report records the command without --out, --jobs, --shard and --json: they say where and how
fast it ran, not what, so the same grid gives the same bytes on any machine.`;

/** More shards than this is surely a typo (the same bound as check --shard). */
const MAX_SHARDS = 256;

/** A grid larger than this is surely a typo (and would run for hours). */
export const MAX_GRID_RUNS = 5_000;

const GRID_FLAGS: readonly { flag: string; dimension: Dimension; key: string }[] = [
  { flag: 'ttl', dimension: 'ttlMinutes', key: 'CLAUDE_MEM_SESSION_TTL_MINUTES' },
  { flag: 'max-sessions', dimension: 'maxActiveSessions', key: 'CLAUDE_MEM_MAX_ACTIVE_SESSIONS' },
  { flag: 'max-history', dimension: 'maxHistoryMessages', key: 'CLAUDE_MEM_MAX_CONVERSATION_HISTORY' },
  { flag: 'max-tokens', dimension: 'maxHistoryTokens', key: 'CLAUDE_MEM_MAX_HISTORY_TOKENS' },
];

export async function tuneCommand(args: readonly string[], output: Output): Promise<number> {
  const { values, positionals } = parseOptions('tune', args, {
    ttl: { type: 'string' },
    'max-sessions': { type: 'string' },
    'max-history': { type: 'string' },
    'max-tokens': { type: 'string' },
    seeds: { type: 'string' },
    days: { type: 'string' },
    target: { type: 'string', default: 'reference' },
    'budget-mb': { type: 'string' },
    margin: { type: 'string' },
    jobs: { type: 'string' },
    shard: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  });
  if (values.help) {
    output.out(TUNE_HELP);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new InputError('leaksim tune', 0, '', `expected one scenario or traffic file, got ${positionals.length}`);
  const file = positionals[0]!;
  const source = { kind: /\.jsonl$/.test(file) ? ('traffic' as const) : ('scenario' as const), file };
  const scenario = source.kind === 'traffic' ? trafficScenario(file) : loadScenario(scenarioPath(file, 'leaksim tune'));
  const grid = Object.fromEntries(
    GRID_FLAGS.map(({ flag, dimension, key }) => [dimension, listOption(flag, values[flag as keyof typeof values] as string | undefined, key) ?? [scenarioValue(scenario.settings, dimension)]]),
  ) as unknown as Grid;
  const seeds = listOption('seeds', values.seeds, undefined) ?? [...scenario.seeds];
  const days = wholeNumber('tune', '--days', values.days, 1, 366) ?? scenario.days;
  // Checked as run checks it: a --days that lengthens the scenario past MAX_HOOK_EVENTS is refused before any point runs.
  if (values.days !== undefined) checkScenarioSize(scenario, days, { file: 'leaksim tune', line: 0, field: '--days' });
  const budgetMb = positiveNumber('tune', '--budget-mb', values['budget-mb'], 1_000_000);
  const margin = values.margin === undefined ? DEFAULT_MARGIN_PERCENT : wholeNumber('tune', '--margin', values.margin, 0, 1_000)!;
  const jobs = wholeNumber('tune', '--jobs', values.jobs, 1, 256) ?? availableParallelism();
  const shard = shardOption(values.shard);
  await resolveTarget(values.target); // a bad target is bad input here, not an error in a worker
  // Refused before any run starts (sim/report/report-folder.ts): never over a folder leaksim did not write.
  const dir = reportFolder('tune', values.out ?? defaultTuneFolder(scenario.name, values.target));
  const input: TuneInput = { scenario, source, targetName: values.target, grid, seeds, days, budgetBytes: budgetMb === undefined ? undefined : Math.round(budgetMb * 1_000_000), marginPercent: margin };
  const tasks = tuneTasks(input);
  if (tasks.length > MAX_GRID_RUNS) throw new InputError('leaksim tune', 0, '--ttl/--max-sessions/--max-history/--max-tokens/--seeds', `make ${tasks.length} runs; at most ${MAX_GRID_RUNS}`);
  const mine = shard ? tasksOfShard(tasks, shard) : tasks;
  const runs = await runTasks(input, mine, jobs, output.interactive ? (done, total) => output.progress(`tune ${scenario.name}: ${done}/${total} runs`) : undefined);
  output.progress('');
  const command = recordedCommand(args);
  if (shard) {
    writeReportFolder(dir, { 'summary.md': tuneShardMarkdown(input, shard, tasks.length, runs, command), 'summary.json': tuneShardJson(input, shard, tasks.length, runs, command) }, { command: 'leaksim tune', flag: '--out' });
    if (values.json) output.out(tuneShardJson(input, shard, tasks.length, runs, command).trimEnd());
    else output.out(`shard ${shard.index}/${shard.count}: ${runs.length} of ${tasks.length} runs; join every shard's folder with 'leaksim merge' (report: ${dir}/summary.json)`);
    return EXIT_OK;
  }
  return finishTune(output, judgeGrid(input, runs), command, dir, values.json);
}

/** Writes the report of a judged grid, prints the table (or summary.json) and returns the exit code: 0 when a setting fits, 1 when none does. Also the end of `merge` for tune shards. */
export async function finishTune(output: Output, result: TuneResult, command: string, dir: string, json: boolean): Promise<number> {
  await writeTuneReport(dir, result, command);
  if (json) output.out(tuneSummaryJson(result, command).trimEnd());
  else {
    for (const line of tuneTable(result)) output.out(line);
    output.out(`reports: ${dir}/summary.md, summary.json, tune.csv, report.html${result.recommended === undefined ? '' : `, ${SETTINGS_FILE_NAME}`}`);
  }
  return result.recommended === undefined ? EXIT_GATE_FAILED : EXIT_OK;
}

/** The default report folder of a tune of `scenarioName` against `targetName`. */
export function defaultTuneFolder(scenarioName: string, targetName: string): string {
  return `reports/tune-${scenarioName}${targetName === 'reference' ? '' : `-${folderPart(targetName)}`}`;
}

export async function writeTuneReport(dir: string, result: TuneResult, command: string): Promise<void> {
  const settingsFile = recommendedSettingsFile(result);
  writeReportFolder(dir, {
    'summary.md': tuneSummaryMarkdown(result, command, dir),
    'summary.json': tuneSummaryJson(result, command),
    'tune.csv': tuneCsv(result),
    'report.html': await tuneReportHtml(result, command),
    ...(settingsFile ? { [SETTINGS_FILE_NAME]: settingsFile } : {}),
  }, { command: 'leaksim tune', flag: '--out' });
}

/** The command as reports record it: without the options that say where and how fast (--out, --jobs, --shard, --json), which differ between machines running the same grid. */
export function recordedCommand(args: readonly string[]): string {
  const kept: string[] = [];
  for (let position = 0; position < args.length; position += 1) {
    const arg = args[position]!;
    if (arg === '--json') continue;
    if (/^--(out|jobs|shard)=/.test(arg)) continue;
    if (/^--(out|jobs|shard)$/.test(arg)) {
      position += 1;
      continue;
    }
    kept.push(arg);
  }
  return ['leaksim tune', ...kept].join(' ');
}

/** `--shard i/n`: 1 ≤ i ≤ n. */
function shardOption(value: string | undefined): TuneShard | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)\/(\d+)$/.exec(value);
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || count > MAX_SHARDS || index < 1 || index > count) throw new InputError('leaksim tune', 0, '--shard', `expected i/n with 1 ≤ i ≤ n ≤ ${MAX_SHARDS} (e.g. 2/3), got ${JSON.stringify(value)}`);
  return { index, count };
}

function scenarioValue(settings: RetentionSettings, dimension: Dimension): number {
  return dimension === 'ttlMinutes' ? settings.ttlMs / MINUTE_MS : settings[dimension];
}

/** "5,15,30": whole numbers within the settings file's bounds for `key`, without repeats; grid values sorted, seeds in the order given. */
function listOption(flag: string, text: string | undefined, key: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  const spec = SETTING_KEYS.find((candidate) => candidate.key === key);
  const min = spec?.min ?? 0;
  const max = spec?.max ?? 4_294_967_295;
  const parts = text.split(',').map((part) => part.trim());
  const numbers: number[] = [];
  for (const part of parts) {
    if (!/^\d+$/.test(part) || Number(part) < min || Number(part) > max) {
      throw new InputError('leaksim tune', 0, `--${flag}`, `expected comma-separated whole numbers from ${min} to ${max}, got ${JSON.stringify(part)} in ${JSON.stringify(text)}`);
    }
    if (numbers.includes(Number(part))) throw new InputError('leaksim tune', 0, `--${flag}`, `lists ${part} twice`);
    numbers.push(Number(part));
  }
  // Sorted, so that "one step up" in the sensitivity is the next larger value.
  return flag === 'seeds' ? numbers : numbers.sort((a, b) => a - b);
}

/** A traffic file as a scenario, as `replay` plays it: once, the default settings, seed 1, draining at the end. */
function trafficScenario(file: string): Scenario {
  const spanMs = recordingSpanMs(file); // validates the whole file before anything runs
  return {
    name: basename(file).replace(/\.jsonl$/, '').replace(/[^a-z0-9-]+/gi, '-').toLowerCase() || 'traffic',
    description: `tune over ${file}`,
    file: resolve(file),
    days: Math.max(1, Math.ceil((spanMs + 1) / DAY_MS)),
    seeds: [1],
    settings: DEFAULT_SETTINGS,
    traffic: { kind: 'file', path: resolve(file), repeat: 1, rate: 1 },
    agent: DEFAULT_AGENT,
    faults: { crashProbability: 0, hangProbability: 0, duplicateHookProbability: 0, workerRestarts: [], sleeps: [] },
    sessionEndRoute: 'none',
    end: 'drain',
    sampleEveryMs: 15 * MINUTE_MS,
    expect: { reference: { pass: true }, flaws: {} },
  };
}
