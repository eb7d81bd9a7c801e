/** `leaksim replay <traffic.jsonl>`: recorded traffic through the simulator, with every invariant. */
import { basename, resolve } from 'node:path';
import { InputError } from '../../src/input-error.ts';
import { DEFAULT_SETTINGS } from '../../src/settings.ts';
import { DEFAULT_AGENT } from '../engine/agent.ts';
import type { Report } from '../report/report.ts';
import { recordingStats, replayDays } from '../runs/replay.ts';
import { runScenarioIsolated } from '../runs/isolated/run.ts';
import { folderPart } from '../report/report-folder.ts';
import { pathFromRoot, shellQuote, targetFromRoot } from '../runs/run.ts';
import type { Scenario } from '../runs/scenario.ts';
import { resolveTargetToRunIsolated as resolveTarget } from '../targets/targets.ts';
import { MAX_HOOK_EVENTS, MAX_SIMULATED_DAYS } from '../engine/traffic.ts';
import type { Output } from './output.ts';
import { EXIT_OK, finishReport, parseOptions, positiveNumber, printOutcome, progressFor, reportFolder, settingsOption, stopOnTargetCodeError, wholeNumber } from './shared.ts';

export const REPLAY_HELP = `usage: leaksim replay <traffic.jsonl> [options]

Replays a traffic file (recorded, imported or written by hand) against a target, checking every
invariant after every event, and writes the same reports as 'run'.
Exit 0 when no invariant was violated, 1 when one was, 2 for bad input.

options:
  --target NAME       reference (default), baseline, twin, flaw:<name>, an adapter module path,
                      or claude-mem:<path> (a claude-mem checkout, see docs/claude-mem.md)
  --settings FILE     claude-mem settings.json (CLAUDE_MEM_* keys) for the target
  --repeat N          play the recording N times, each copy a day later with fresh session ids
  --rate X            play X times faster (2 = half the time)
  --days N            stop after N days
  --session-end ROUTE what a SessionEnd hook calls: none (8.5.7, default) or complete
  --seed N            seed for the simulated agent's latencies (default 1)
  --keep-going        record every violation instead of stopping at the first
  --out DIR           report folder (default reports/replay-<file name>-<target>); an existing
                      folder is replaced only when leaksim wrote it
  --json              print summary.json to stdout`;

export async function replayCommand(args: readonly string[], output: Output): Promise<number> {
  const { values, positionals } = parseOptions('replay', args, {
    target: { type: 'string', default: 'reference' },
    settings: { type: 'string' },
    repeat: { type: 'string' },
    rate: { type: 'string' },
    days: { type: 'string' },
    'session-end': { type: 'string', default: 'none' },
    seed: { type: 'string' },
    'keep-going': { type: 'boolean', default: false },
    out: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  });
  if (values.help) {
    output.out(REPLAY_HELP);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new InputError('leaksim replay', 0, '', `expected one traffic file, got ${positionals.length}`);
  const file = positionals[0]!;
  const repeat = wholeNumber('replay', '--repeat', values.repeat, 1, 10_000) ?? 1;
  const rate = positiveNumber('replay', '--rate', values.rate, 1_000) ?? 1;
  const seed = wholeNumber('replay', '--seed', values.seed, 0, 4_294_967_295) ?? 1;
  const sessionEnd = values['session-end'];
  if (sessionEnd !== 'none' && sessionEnd !== 'complete') throw new InputError('leaksim replay', 0, '--session-end', `expected none or complete, got ${JSON.stringify(sessionEnd)}`);
  const givenDays = wholeNumber('replay', '--days', values.days, 1, MAX_SIMULATED_DAYS);
  const stats = recordingStats(file); // also validates the whole file before anything runs
  const wholeDays = replayDays(stats, repeat, rate);
  if (givenDays === undefined && wholeDays > MAX_SIMULATED_DAYS) {
    throw new InputError('leaksim replay', 0, '--repeat', `${repeat} at --rate ${rate} plays ${file} over ${wholeDays.toLocaleString('en-US')} simulated days, more than ${MAX_SIMULATED_DAYS} (MAX_SIMULATED_DAYS): give --days, a smaller --repeat or a larger --rate`);
  }
  const days = givenDays ?? wholeDays;
  const events = stats.events * repeat;
  if (events > MAX_HOOK_EVENTS) {
    throw new InputError('leaksim replay', 0, '--repeat', `${repeat} plays ${file} (${stats.events.toLocaleString('en-US')} events) as ${events.toLocaleString('en-US')} hook events, more than the ${MAX_HOOK_EVENTS.toLocaleString('en-US')} one run may play (MAX_HOOK_EVENTS): a smaller --repeat`);
  }
  const settings = settingsOption(values.settings, DEFAULT_SETTINGS);
  const target = await resolveTarget(values.target);
  const name = basename(file).replace(/\.jsonl?$/, '').replace(/[^a-z0-9-]+/gi, '-').toLowerCase() || 'traffic';
  const out = reportFolder('replay', values.out ?? `reports/replay-${name}-${folderPart(target.name)}`);
  const scenario: Scenario = {
    name,
    description: `replay of ${file}`,
    file: resolve(file),
    days,
    seeds: [seed],
    settings: settings?.values ?? DEFAULT_SETTINGS,
    traffic: { kind: 'file', path: resolve(file), repeat, rate },
    agent: DEFAULT_AGENT,
    faults: { crashProbability: 0, hangProbability: 0, duplicateHookProbability: 0, workerRestarts: [], sleeps: [] },
    sessionEndRoute: sessionEnd,
    end: 'drain',
    sampleEveryMs: 15 * 60_000,
    expect: { reference: { pass: true }, flaws: {} },
  };
  // Every flag that shaped the run, with paths that work from the repository root.
  const reproduce = [
    'npx leaksim replay',
    shellQuote(pathFromRoot(file)),
    '--target',
    shellQuote(targetFromRoot(target.name)),
    ...(repeat > 1 ? ['--repeat', String(repeat)] : []),
    ...(rate !== 1 ? ['--rate', String(rate)] : []),
    ...(values.days ? ['--days', values.days] : []),
    ...(sessionEnd !== 'none' ? ['--session-end', sessionEnd] : []),
    ...(values.settings ? ['--settings', shellQuote(pathFromRoot(values.settings))] : []),
    '--seed',
    String(seed),
    ...(values['keep-going'] ? ['--keep-going'] : []),
  ].join(' ');
  const outcome = await runScenarioIsolated(scenario, {
    target,
    seed,
    stop: values['keep-going'] ? 'never' : 'first-violation',
    onProgress: progressFor(output, `replay ${file} ${target.name}`),
  });
  const replayed = { ...outcome, asExpected: undefined, expected: undefined, reproduce };
  output.progress('');
  stopOnTargetCodeError('replay', replayed);
  if (!values.json) printOutcome(output, replayed, 'invariants');
  const report: Report = { command: 'replay', judgedBy: 'invariants', outcomes: [replayed] };
  return finishReport(output, report, out, values.json);
}
