/**
 * What `tune` writes: a terminal table, summary.md, summary.json, tune.csv, and the claude-mem
 * settings file of the recommendation (report.html is sim/tune/tune-page.ts). Deterministic:
 * fixed key and row order, no wall-clock time.
 */
import { join, relative } from 'node:path';
import { describeSettings, megabytes, settingsJson } from '../check/costs.ts';
import { memoryModelJson } from '../report/report.ts';
import { claudeMemSettings, COST_FIELDS, DIMENSION_LABELS, DIMENSIONS, type SettingOutcome, type Spread, type TuneResult } from './tune.ts';

export const TUNE_FORMAT_VERSION = 1;
export const SETTINGS_FILE_NAME = 'settings.json';

function mb(bytes: number): string {
  return megabytes(bytes).toFixed(1);
}

function round(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function spreadText(spread: Spread, format: (value: number) => string = round): string {
  return format(spread.min) === format(spread.max) ? format(spread.mean) : `${format(spread.mean)} (${format(spread.min)}–${format(spread.max)})`;
}

/** Dimensions the grid varies (the others are shown once, as fixed). */
export function variedDimensions(result: TuneResult) {
  return DIMENSIONS.filter((dimension) => result.input.grid[dimension].length > 1);
}

function mark(result: TuneResult, outcome: SettingOutcome): string {
  return `${outcome.index === result.recommended ? '★' : ' '}${outcome.onFrontier ? '◆' : ' '}`;
}

export function tuneHeadline(result: TuneResult): string {
  const { input } = result;
  const budget = input.budgetBytes === undefined ? 'no memory budget' : `budget ${mb(input.budgetBytes)} MB with a ${input.marginPercent}% margin`;
  if (result.recommended === undefined) return `no setting fits (${budget}, no refusals, no violations)`;
  return `recommended: ${describeSettings(result.settings[result.recommended]!.settings)} (${budget})`;
}

/** The terminal table: one line per setting, ★ the recommendation, ◆ the frontier. */
export function tuneTable(result: TuneResult): string[] {
  const header = ['', '#', ...DIMENSIONS.map((dimension) => DIMENSION_LABELS[dimension]), 'peak MB', 'p95 MB', 'cold resumes', 'lost msgs', 'refused', 'fits'];
  const rows = result.settings.map((outcome) => [
    mark(result, outcome),
    String(outcome.index + 1),
    ...DIMENSIONS.map((dimension) => String(outcome.values[dimension])),
    spreadText(outcome.costs.peakBytes, mb),
    spreadText(outcome.costs.p95Bytes, mb),
    spreadText(outcome.costs.coldResumes),
    spreadText(outcome.costs.lostMessages),
    String(outcome.costs.refusedSessions.max),
    outcome.fits ? 'yes' : `no: ${outcome.reasons.join('; ')}`,
  ]);
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ').trimEnd();
  const lines = [line(header), ...rows.map(line)];
  lines.push('', `frontier (◆, memory against context lost): ${result.frontier.map((index) => `#${index + 1}`).join(', ')}`);
  lines.push(tuneHeadline(result));
  if (result.recommended !== undefined) {
    for (const step of result.sensitivity) lines.push(`  ${sensitivityText(step)}`);
  }
  return lines;
}

function signed(value: number, format: (value: number) => string): string {
  const magnitude = format(Math.abs(value));
  if (Number(magnitude) === 0) return `±${magnitude}`;
  return `${value > 0 ? '+' : '−'}${magnitude}`;
}

function sensitivityText(step: TuneResult['sensitivity'][number]): string {
  const what = `${DIMENSION_LABELS[step.dimension]} ${step.direction} to ${step.value}`;
  const costs = `${signed(step.peakBytesChange, mb)} MB peak, ${signed(step.lostMessagesChange, round)} lost messages, ${signed(step.coldResumesChange, round)} cold resumes`;
  const verdict = step.fits ? 'fits' : step.refusedSessions > 0 ? `refuses ${step.refusedSessions} sessions` : 'does not fit';
  return `${what}: ${costs} (${verdict})`;
}

export function tuneSummaryJson(result: TuneResult, command: string): string {
  const { input } = result;
  const body = {
    leaksimTune: TUNE_FORMAT_VERSION,
    command,
    result: result.recommended === undefined ? 'none fits' : 'fits',
    scenario: input.scenario.name,
    target: input.targetName,
    seeds: input.seeds,
    days: input.days,
    budgetBytes: input.budgetBytes ?? null,
    marginPercent: input.marginPercent,
    grid: Object.fromEntries(DIMENSIONS.map((dimension) => [dimension, input.grid[dimension]])),
    memoryModel: memoryModelJson(result.model),
    settings: result.settings.map((outcome) => ({
      setting: outcome.index + 1,
      settings: settingsJson(outcome.settings),
      costs: Object.fromEntries(COST_FIELDS.map((field) => [field, outcome.costs[field]])),
      passed: outcome.passed,
      fits: outcome.fits,
      reasons: outcome.reasons,
      onFrontier: outcome.onFrontier,
      runs: outcome.runs.map((run) => ({ seed: run.seed, verdict: run.verdict, traceHash: run.traceHash, firstViolation: run.firstViolation, ...Object.fromEntries(COST_FIELDS.map((field) => [field, run[field]])) })),
    })),
    frontier: result.frontier.map((index) => index + 1),
    recommended:
      result.recommended === undefined
        ? null
        : { setting: result.recommended + 1, settings: settingsJson(result.settings[result.recommended]!.settings), settingsFile: SETTINGS_FILE_NAME },
    sensitivity: result.sensitivity.map((step) => ({ ...step, setting: step.setting + 1 })),
  };
  return `${JSON.stringify(body, null, 2)}\n`;
}

export function tuneCsv(result: TuneResult): string {
  const costColumns = COST_FIELDS.flatMap((field) => [`${field}Mean`, `${field}Min`, `${field}Max`]);
  const rows = [['setting', ...DIMENSIONS, ...costColumns, 'passed', 'fits', 'onFrontier', 'recommended'].join(',')];
  for (const outcome of result.settings) {
    rows.push(
      [
        outcome.index + 1,
        ...DIMENSIONS.map((dimension) => outcome.values[dimension]),
        ...COST_FIELDS.flatMap((field) => [outcome.costs[field].mean, outcome.costs[field].min, outcome.costs[field].max]),
        outcome.passed,
        outcome.fits,
        outcome.onFrontier,
        outcome.index === result.recommended,
      ].join(','),
    );
  }
  return `${rows.join('\n')}\n`;
}

/** The command that runs the recommendation on the same traffic, with the settings file this report holds. */
function checkCommand(result: TuneResult, dir: string): string {
  const { scenario, source } = result.input;
  const settings = join(relative(process.cwd(), dir) || '.', SETTINGS_FILE_NAME);
  const verb = source.kind === 'traffic' ? 'replay' : 'run';
  return `npx leaksim ${verb} ${relative(process.cwd(), source.file) || source.file} --target ${result.input.targetName} --seed ${result.input.seeds[0]}${result.input.days !== scenario.days ? ` --days ${result.input.days}` : ''} --settings ${settings}`;
}

export function tuneSummaryMarkdown(result: TuneResult, command: string, dir: string): string {
  const { input } = result;
  const varied = variedDimensions(result);
  const fixed = DIMENSIONS.filter((dimension) => !varied.includes(dimension));
  const lines = [
    `# leaksim tune: ${tuneHeadline(result)}`,
    '',
    `\`${command}\``,
    '',
    `${result.settings.length} settings × ${input.seeds.length} seeds (${input.seeds.join(', ')}) of ${input.scenario.name} over ${input.days} days against ${input.targetName}.` +
      (fixed.length ? ` Fixed: ${fixed.map((dimension) => `${DIMENSION_LABELS[dimension]} ${input.grid[dimension][0]}`).join(', ')}.` : ''),
    '',
    `A setting fits when every seed passes every invariant, no session is refused${input.budgetBytes === undefined ? '' : `, and its highest peak memory plus ${input.marginPercent}% stays within ${mb(input.budgetBytes)} MB`}. The recommendation is the fitting setting that loses the least context: the fewest cold resumes, then the fewest lost messages; ties go to the smaller memory. Costs are means over the seeds, with their range. Memory is modelled: ${result.model.bytesPerSession} B per session plus ${result.model.bytesPerHistoryMessage} B per history message (${result.model.source}).`,
    '',
    `| | # | ${varied.map((dimension) => DIMENSION_LABELS[dimension]).join(' | ')} | peak MB | p95 MB | cold resumes | lost messages | refused | fits |`,
    `|---|---|${varied.map(() => '---|').join('')}---|---|---|---|---|---|`,
    ...result.settings.map(
      (outcome) =>
        `| ${mark(result, outcome).trim()} | ${outcome.index + 1} | ${varied.map((dimension) => outcome.values[dimension]).join(' | ')} | ${spreadText(outcome.costs.peakBytes, mb)} | ${spreadText(outcome.costs.p95Bytes, mb)} | ${spreadText(outcome.costs.coldResumes)} | ${spreadText(outcome.costs.lostMessages)} | ${outcome.costs.refusedSessions.max} | ${outcome.fits ? 'yes' : `no: ${outcome.reasons.join('; ')}`} |`,
    ),
    '',
    '★ recommended, ◆ on the Pareto frontier (no other setting is as good on peak memory, cold resumes and lost messages and better on one of them). Cold resumes weigh first: each is a conversation that went on without its history; lost messages (dropped with those histories, or trimmed by the history bound) break ties. See docs/tune.md.',
    '',
    '## Recommendation',
    '',
  ];
  if (result.recommended === undefined) {
    lines.push('No setting fits. Widen the grid (a larger cap avoids refusals; a shorter TTL or history saves memory) or raise the budget.');
  } else {
    const chosen = result.settings[result.recommended]!;
    lines.push(`Setting #${chosen.index + 1}: ${describeSettings(chosen.settings)}. Written as claude-mem's \`${SETTINGS_FILE_NAME}\` beside this report; to see one of its runs in full, \`${checkCommand(result, dir)}\`.`, '');
    if (result.sensitivity.length) {
      lines.push('One step in each setting, the others held:', '');
      for (const step of result.sensitivity) lines.push(`- ${sensitivityText(step)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The claude-mem settings file for the recommendation, or undefined when none fits. */
export function recommendedSettingsFile(result: TuneResult): string | undefined {
  return result.recommended === undefined ? undefined : claudeMemSettings(result.settings[result.recommended]!.settings);
}
