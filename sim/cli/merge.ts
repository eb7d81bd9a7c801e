/** `leaksim merge <report dirs...>`: the report folders of a sharded check joined into one check's. */
import { mergeShardReports } from '../report/merge.ts';
import type { Output } from './output.ts';
import { EXIT_OK, finishReport, parseOptions, printOutcome } from './shared.ts';
import { printFlaws } from './check.ts';

export const MERGE_HELP = `usage: leaksim merge <report dir> ... [options]

Joins the report folders of every shard of one check ('leaksim check --shard i/n' on n
machines) into the reports of that check run whole: the same summary.md, summary.json,
junit.xml and metrics/, byte for byte. Exit 0 when every verdict is as expected and every
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
  const report = mergeShardReports(positionals);
  if (!values.json) {
    for (const outcome of report.outcomes) printOutcome(output, outcome);
    // An adapter's check has no flaw table (the flaws are leaksim's own): nothing to print, as unsharded.
    if (report.flaws) printFlaws(output, report.flaws, report.scope);
  }
  return finishReport(output, report, values.out ?? 'reports/check', values.json);
}
