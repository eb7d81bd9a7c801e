/** `leaksim history claude-mem:<clone>`: the leaks of every release in a range, as a timeline; `--bisect`: the commit that changed one. */
import { availableParallelism } from 'node:os';
import { InputError } from '../../src/input-error.ts';
import { INVARIANT_NAMES, type InvariantName } from '../check/catalogue.ts';
import { writeReportFolder } from '../report/report-folder.ts';
import { scenarioPath } from '../runs/scenario-files.ts';
import { loadScenario } from '../runs/scenario.ts';
import { CLAUDE_MEM_PREFIX } from '../targets/claude-mem/target.ts';
import { DEFAULT_CACHE_DIR, HistoryCache } from '../history/cache.ts';
import { checkClone } from '../history/git.ts';
import { historyRunSeconds } from '../history/release-runs.ts';
import { planHistory, runBisect, runHistory, type HistoryShard } from '../history/history.ts';
import { bisectLines, bisectSummaryJson, bisectSummaryMarkdown, historyLines, historyReportHtml, historySummaryJson, historySummaryMarkdown } from '../history/history-report.ts';
import { regressions, type Timeline } from '../history/timeline.ts';
import type { Output } from './output.ts';
import { EXIT_GATE_FAILED, EXIT_OK, parseOptions, reportFolder, wholeNumber } from './shared.ts';

/** A fast default: one week of steady traffic, one seed; about 4 s a release. */
export const DEFAULT_HISTORY_SCENARIOS = ['steady-week'] as const;
export const DEFAULT_HISTORY_SEEDS = [1] as const;
const MAX_JOBS = 256;

export const HISTORY_HELP = `usage: leaksim history claude-mem:<git clone> [options]

Runs the chosen scenarios against every release tag (vX.Y.Z) of a claude-mem git clone in a
range, each release read with 'git archive' into a temporary folder (the clone is never changed),
and writes a timeline: release × invariant (pass, fail, or error with its reason), peak sessions,
history messages and modelled bytes per release, and for each invariant the releases where it
started or stopped failing. Runs are cached by the content of the release's session path: a
rerun, or a release that changed nothing there, costs no simulation. See docs/history.md.
Exit 0 when the timeline is written, 1 when an invariant fails at the newest release that an
earlier release of the range passed, 2 for bad input.

  --from REF          oldest end of the range (a tag, branch or commit; default: the first release)
  --to REF            newest end (default HEAD)
  --scenario NAME,... scenarios (built-in names or files; default ${DEFAULT_HISTORY_SCENARIOS.join(',')})
  --seeds N,...       seeds (default ${DEFAULT_HISTORY_SEEDS.join(',')})
  --jobs N            releases run at once, each in a child process (default: the number of cores)
  --shard I/N         only every N-th release from the I-th; 'leaksim merge' joins the shards
  --cache DIR         the run cache (default ${DEFAULT_CACHE_DIR})
  --no-cache          neither read nor write the cache
  --out DIR           report folder (default reports/history, or reports/history-bisect)
  --json              print summary.json instead of the lines

  --bisect INVARIANT  the first commit from --from (required) to --to where INVARIANT's verdict
                      changes, in O(log n) runs as git bisect would; exit 1 when it fails at --to`;

export async function historyCommand(args: readonly string[], output: Output): Promise<number> {
  const { values, positionals } = parseOptions('history', args, {
    from: { type: 'string' },
    to: { type: 'string', default: 'HEAD' },
    scenario: { type: 'string', multiple: true },
    seeds: { type: 'string' },
    jobs: { type: 'string' },
    shard: { type: 'string' },
    cache: { type: 'string' },
    'no-cache': { type: 'boolean', default: false },
    out: { type: 'string' },
    bisect: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  });
  if (values.help) {
    output.out(HISTORY_HELP);
    return EXIT_OK;
  }
  // Everything is checked before any work: the options, the clone, the refs, the range, the folders.
  if (positionals.length !== 1) throw new InputError('leaksim history', 0, '', `expected one claude-mem:<path to a git clone>, got ${positionals.length} arguments`);
  const spec = positionals[0]!;
  if (!spec.startsWith(CLAUDE_MEM_PREFIX)) throw new InputError('leaksim history', 0, '', `expected claude-mem:<path to a git clone of claude-mem>, got ${JSON.stringify(spec)}`);
  const seeds = seedList(values.seeds);
  const jobs = wholeNumber('history', '--jobs', values.jobs, 1, MAX_JOBS) ?? availableParallelism();
  const shard = shardOption(values.shard);
  const invariant = values.bisect === undefined ? undefined : invariantOption(values.bisect);
  if (invariant && shard) throw new InputError('leaksim history', 0, '--shard', 'does not apply to --bisect (each bisect step depends on the one before)');
  if (invariant && values.from === undefined) throw new InputError('leaksim history', 0, '--from', 'is required with --bisect: the older end, where the verdict is known');
  if (values.cache !== undefined && values['no-cache']) throw new InputError('leaksim history', 0, '--cache', 'and --no-cache exclude each other');
  const names = (values.scenario ?? [...DEFAULT_HISTORY_SCENARIOS]).flatMap((value) => value.split(',')).map((name) => name.trim());
  if (names.some((name) => name === '')) throw new InputError('leaksim history', 0, '--scenario', 'expected comma-separated scenario names or files, got an empty name');
  const scenarios = names.map((name) => loadScenario(scenarioPath(name, 'leaksim history --scenario')));
  if (new Set(scenarios.map((scenario) => scenario.name)).size !== scenarios.length) throw new InputError('leaksim history', 0, '--scenario', 'names a scenario twice');
  historyRunSeconds(); // LEAKSIM_HISTORY_RUN_SECONDS, checked now rather than in the middle
  const clonePath = checkClone(spec.slice(CLAUDE_MEM_PREFIX.length), 'leaksim history');
  const dir = reportFolder('history', values.out ?? (invariant ? 'reports/history-bisect' : 'reports/history'));
  const destination = { command: 'leaksim history', flag: '--out' };

  if (invariant) {
    const cache = values['no-cache'] ? undefined : HistoryCache.open(values.cache ?? DEFAULT_CACHE_DIR);
    const result = await runBisect({
      clonePath,
      invariant,
      from: values.from!,
      to: values.to,
      scenarios,
      seeds,
      cache,
      onStep: (step, tried) => output.progress(`bisect ${invariant}: ${tried} run${tried === 1 ? '' : 's'}, ${step.commit.slice(0, 12)} ${step.verdict}`),
    });
    output.progress('');
    writeReportFolder(dir, { 'summary.md': bisectSummaryMarkdown(result), 'summary.json': bisectSummaryJson(result) }, destination);
    if (values.json) output.out(bisectSummaryJson(result).trimEnd());
    else {
      for (const line of bisectLines(result)) output.out(line);
      output.out(`reports: ${dir}/summary.md, summary.json`);
    }
    return result.after === 'fail' ? EXIT_GATE_FAILED : EXIT_OK;
  }

  const plan = planHistory({ clone: spec, clonePath, from: values.from, to: values.to, scenarios, seeds, shard });
  const cache = values['no-cache'] ? undefined : HistoryCache.open(values.cache ?? DEFAULT_CACHE_DIR);
  const timeline = await runHistory(plan, { jobs, cache, onDone: (done, total) => output.progress(`history: ${done}/${total} releases`) });
  output.progress('');
  await writeHistoryReport(dir, timeline);
  return finishHistory(output, timeline, dir, values.json);
}

export async function writeHistoryReport(dir: string, timeline: Timeline): Promise<void> {
  writeReportFolder(dir, { 'summary.md': historySummaryMarkdown(timeline), 'summary.json': historySummaryJson(timeline), 'report.html': await historyReportHtml(timeline) }, { command: 'leaksim history', flag: '--out' });
}

/** Prints the timeline (or its summary.json) and returns the exit code: 1 for a regression at the newest release. */
export function finishHistory(output: Output, timeline: Timeline, dir: string, json: boolean): number {
  if (json) output.out(historySummaryJson(timeline).trimEnd());
  else {
    for (const line of historyLines(timeline)) output.out(line);
    output.out(`reports: ${dir}/summary.md, summary.json, report.html`);
  }
  return timeline.shard === null && regressions(timeline).length > 0 ? EXIT_GATE_FAILED : EXIT_OK;
}

function seedList(text: string | undefined): number[] {
  if (text === undefined) return [...DEFAULT_HISTORY_SEEDS];
  const seeds: number[] = [];
  for (const part of text.split(',').map((value) => value.trim())) {
    if (!/^\d+$/.test(part) || Number(part) > 4_294_967_295) throw new InputError('leaksim history', 0, '--seeds', `expected comma-separated whole numbers from 0 to 4294967295, got ${JSON.stringify(part)} in ${JSON.stringify(text)}`);
    if (seeds.includes(Number(part))) throw new InputError('leaksim history', 0, '--seeds', `lists ${part} twice`);
    seeds.push(Number(part));
  }
  return seeds;
}

function shardOption(value: string | undefined): HistoryShard | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)\/(\d+)$/.exec(value);
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || count > MAX_JOBS || index < 1 || index > count) throw new InputError('leaksim history', 0, '--shard', `expected i/n with 1 ≤ i ≤ n ≤ ${MAX_JOBS} (e.g. 2/3), got ${JSON.stringify(value)}`);
  return { index, count };
}

function invariantOption(value: string): InvariantName {
  if (!(INVARIANT_NAMES as readonly string[]).includes(value)) throw new InputError('leaksim history', 0, '--bisect', `expected an invariant name (${INVARIANT_NAMES.join(', ')}), got ${JSON.stringify(value)}`);
  return value as InvariantName;
}
