/** `leaksim merge <report dirs...>`: the report folders of a sharded check joined into one check's. */
import { mergeShardReports } from '../report/merge.ts';
import type { Output } from './output.ts';
import { EXIT_OK, finishReport, parseOptions, printOutcome } from './shared.ts';
import { printFlaws } from './check.ts';
import { isHistoryReport, mergeHistoryShards } from '../history/history-merge.ts';
import { finishHistory, writeHistoryReport } from './history.ts';
import { reportFolder } from './shared.ts';
import { isTuneShardReport, mergeTuneShards } from '../tune/tune-shard.ts';
import { judgeGrid } from '../tune/tune.ts';
import { defaultTuneFolder, finishTune } from './tune.ts';

export const MERGE_HELP = `usage: leaksim merge <report dir> ... [options]

Joins the report folders of every shard of one check ('leaksim check --shard i/n' on n
machines) into the reports of that check run whole: the same summary.md, summary.json,
junit.xml and metrics/, byte for byte. The shards of 'leaksim history --shard i/n' join the same
way into that history's report (default folder reports/history), and the shards of
'leaksim tune --shard i/n' into that tune's report (default folder reports/tune-<scenario>), the
same bytes as the grid run on one machine. Exit 0 when every verdict is as expected and every
judged flaw is caught (for tune: when a setting fits), 1 otherwise, 2 for bad input (a shard
missing, twice, or from another check, history or grid).

options:
  --out DIR     report folder (default reports/check; reports/history for history shards,
                reports/tune-<scenario> for tune shards)
  --json        print summary.json to stdout instead of the readable lines`;

export async function mergeCommand(args: readonly string[], output: Output): Promise<number> {
  const { values, positionals } = parseOptions('merge', args, {
    out: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  });
  if (values.help) {
    output.out(MERGE_HELP);
    return EXIT_OK;
  }
  // The shards of a `history --shard` run join into the history's report (sim/history/history-merge.ts).
  if (positionals.length > 0 && isHistoryReport(positionals[0]!)) {
    const timeline = mergeHistoryShards(positionals);
    const dir = reportFolder('merge', values.out ?? 'reports/history');
    await writeHistoryReport(dir, timeline);
    return finishHistory(output, timeline, dir, values.json);
  }
  // The shards of a `tune --shard` run join into the grid's report (sim/tune/tune-shard.ts).
  if (positionals.length > 0 && isTuneShardReport(positionals[0]!)) {
    const { input, runs, command } = mergeTuneShards(positionals);
    const dir = reportFolder('merge', values.out ?? defaultTuneFolder(input.scenario.name, input.targetName));
    return finishTune(output, judgeGrid(input, runs), command, dir, values.json);
  }
  const report = mergeShardReports(positionals);
  if (!values.json) {
    for (const outcome of report.outcomes) printOutcome(output, outcome);
    // An adapter's check has no flaw table (the flaws are leaksim's own): nothing to print, as unsharded.
    if (report.flaws) printFlaws(output, report.flaws, report.scope);
  }
  return finishReport(output, report, values.out ?? 'reports/check', values.json);
}
