/** `leaksim merge <report dirs...>`: the report folders of a sharded check joined into one check's. */
import { mergeShardReports } from '../report/merge.ts';
import type { Output } from './output.ts';
import { EXIT_OK, finishReport, parseOptions, printOutcome } from './shared.ts';
import { printFlaws } from './check.ts';
import { isHistoryReport, mergeHistoryShards } from '../history/history-merge.ts';
import { finishHistory, writeHistoryReport } from './history.ts';
import { reportFolder } from './shared.ts';

export const MERGE_HELP = `usage: leaksim merge <report dir> ... [options]

Joins the report folders of every shard of one check ('leaksim check --shard i/n' on n
machines) into the reports of that check run whole: the same summary.md, summary.json,
junit.xml and metrics/, byte for byte. The shards of 'leaksim history --shard i/n' join the same
way into that history's report (default folder reports/history). Exit 0 when every verdict is as expected and every
judged flaw is caught, 1 otherwise, 2 for bad input (a shard missing, twice, or from
another check).

options:
  --out DIR     report folder (default reports/check)
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
  const report = mergeShardReports(positionals);
  if (!values.json) {
    for (const outcome of report.outcomes) printOutcome(output, outcome);
    printFlaws(output, report.flaws ?? [], report.scope);
  }
  return finishReport(output, report, values.out ?? 'reports/check', values.json);
}
