/** `leaksim run <scenario>`: one scenario against one target, for each seed (or the one given). */
import { InputError } from '../../src/input-error.ts';
import type { Report } from '../report/report.ts';
import { runScenarioIsolated } from '../runs/isolated/run.ts';
import { folderPart } from '../report/report-folder.ts';
import { checkScenarioSize, loadScenario } from '../runs/scenario.ts';
import { scenarioPath } from '../runs/scenario-files.ts';
import { resolveTargetToRunIsolated as resolveTarget } from '../targets/targets.ts';
import type { Output } from './output.ts';
import { EXIT_OK, finishReport, parseOptions, printOutcome, progressFor, reportFolder, settingsOption, stopOnTargetCodeError, wholeNumber } from './shared.ts';

export const RUN_HELP = `usage: leaksim run <scenario.json or built-in name, e.g. steady-week> [options]

Runs a scenario against a target and checks every invariant after every event.
Exit 0 when no invariant was violated, 1 when one was, 2 for bad input.

options:
  --target NAME     reference (default), baseline, twin, flaw:<name>, an adapter module path,
                    or claude-mem:<path> (a claude-mem checkout, see docs/claude-mem.md)
  --seed N          run this seed only (default: every seed the scenario lists)
  --days N          override the scenario's length
  --settings FILE   claude-mem settings.json whose CLAUDE_MEM_* keys override the scenario's settings
  --keep-going      record every violation instead of stopping once the verdict is settled
                    (the first violation, or every invariant the scenario expects this target to fail on)
  --out DIR         report folder (default reports/run-<scenario>-<target>); an existing folder
                    is replaced only when leaksim wrote it
  --json            print summary.json to stdout instead of the readable lines`;

export async function runCommand(args: readonly string[], output: Output): Promise<number> {
  const { values, positionals } = parseOptions('run', args, {
    target: { type: 'string', default: 'reference' },
    seed: { type: 'string' },
    days: { type: 'string' },
    settings: { type: 'string' },
    'keep-going': { type: 'boolean', default: false },
    out: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  });
  if (values.help) {
    output.out(RUN_HELP);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new InputError('leaksim run', 0, '', `expected one scenario file, got ${positionals.length}`);
  const seed = wholeNumber('run', '--seed', values.seed, 0, 4_294_967_295);
  const days = wholeNumber('run', '--days', values.days, 1, 366);
  const scenario = loadScenario(scenarioPath(positionals[0]!, 'leaksim run'));
  if (days !== undefined) checkScenarioSize(scenario, days, { file: 'leaksim run', line: 0, field: '--days' });
  const settings = settingsOption(values.settings, scenario.settings);
  const target = await resolveTarget(values.target);
  const out = reportFolder('run', values.out ?? `reports/run-${scenario.name}-${folderPart(target.name)}`);
  const outcomes = [];
  for (const runSeed of seed === undefined ? scenario.seeds : [seed]) {
    const outcome = await runScenarioIsolated(scenario, {
      target,
      seed: runSeed,
      ...(days !== undefined ? { days } : {}),
      ...(settings ? { settings } : {}),
      // Stop once the verdict is settled: at the first violation, unless the scenario expects this
      // target to fail on several invariants (then once all of them are seen), as `check` does.
      stop: values['keep-going'] ? 'never' : 'verdict',
      onProgress: progressFor(output, `${scenario.name} ${target.name} seed ${runSeed}`),
    });
    output.progress('');
    stopOnTargetCodeError('run', outcome);
    if (!values.json) printOutcome(output, outcome, 'invariants');
    outcomes.push(outcome);
  }
  // `run` judges by invariants alone: the scenario's expectation is shown, not required.
  const report: Report = { command: 'run', judgedBy: 'invariants', outcomes };
  return finishReport(output, report, out, values.json);
}
