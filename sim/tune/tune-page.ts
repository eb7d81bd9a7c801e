/**
 * report.html of `tune`: the frontier (memory against context lost, the recommendation marked,
 * the budget drawn), each cost against each setting the grid varies, and memory, sessions and
 * history over simulated days for the recommendation and the frontier; the full table beside.
 */
import { describeSettings, megabytes } from '../check/costs.ts';
import { DIMENSION_LABELS, DIMENSIONS, type Dimension, type SettingOutcome, type TuneResult } from './tune.ts';
import { tuneHeadline, variedDimensions } from './tune-report.ts';
import { CHART_HEIGHT, CHART_WIDTH, overDaysSpec, renderSvg, type LinePoint } from '../report/html/charts.ts';
import { htmlPage, htmlTable, type Figure, type Section } from '../report/html/page.ts';

/** Short names for legends, where space is tight. */
const SHORT: Readonly<Record<Dimension, string>> = { ttlMinutes: 'ttl', maxActiveSessions: 'cap', maxHistoryMessages: 'hist', maxHistoryTokens: 'tokens' };

/** "#3 ttl 60 · cap 10": a setting as chart legends name it (only the varied dimensions). */
function settingLabel(result: TuneResult, outcome: SettingOutcome): string {
  return `#${outcome.index + 1} ${variedDimensions(result).map((dimension) => `${SHORT[dimension]} ${outcome.values[dimension]}`).join(' · ')}`.trim();
}

/** The budget is drawn only when it is on the same scale as the settings (else it squeezes them into a corner). */
function budgetOnChart(result: TuneResult): boolean {
  const budget = result.input.budgetBytes;
  return budget !== undefined && budget <= 3 * Math.max(...result.settings.map((outcome) => outcome.costs.peakBytes.mean));
}

function frontierSpec(result: TuneResult, measure: 'coldResumes' | 'lostMessages'): Record<string, unknown> {
  const yTitle = measure === 'coldResumes' ? 'cold resumes (mean)' : 'lost messages, dropped + trimmed (mean)';
  const points = result.settings.map((outcome) => ({
    setting: settingLabel(result, outcome),
    peakMb: megabytes(outcome.costs.peakBytes.mean),
    y: outcome.costs[measure].mean,
    peakMinMb: megabytes(outcome.costs.peakBytes.min),
    peakMaxMb: megabytes(outcome.costs.peakBytes.max),
    yMin: outcome.costs[measure].min,
    yMax: outcome.costs[measure].max,
    status: outcome.index === result.recommended ? 'recommended' : outcome.fits ? 'fits' : 'does not fit',
    frontier: outcome.onFrontier ? 'yes' : 'no',
  }));
  const x = { field: 'peakMb', type: 'quantitative', title: 'peak memory, MB (mean, modelled)' };
  const y = { field: 'y', type: 'quantitative', title: yTitle };
  const layers: Record<string, unknown>[] = [
    // The spread over seeds: lowest to highest, across each point.
    { data: { values: points }, mark: { type: 'rule', color: '#9ecae1' }, encoding: { x: { field: 'peakMinMb', type: 'quantitative' }, x2: { field: 'peakMaxMb' }, y } },
    { data: { values: points }, mark: { type: 'rule', color: '#9ecae1' }, encoding: { x, y: { field: 'yMin', type: 'quantitative' }, y2: { field: 'yMax' } } },
    {
      data: { values: points },
      mark: { type: 'point', filled: true, size: 80, opacity: 0.85 },
      encoding: {
        x,
        y,
        color: { field: 'status', type: 'nominal', title: 'setting', scale: { domain: ['recommended', 'fits', 'does not fit'], range: ['#d62728', '#1f77b4', '#aaaaaa'] } },
        shape: { field: 'frontier', type: 'nominal', title: 'on the frontier', scale: { domain: ['yes', 'no'], range: ['diamond', 'circle'] } },
      },
    },
  ];
  if (result.recommended !== undefined) {
    const chosen = points[result.recommended]!;
    layers.push(
      { data: { values: [chosen] }, mark: { type: 'point', shape: 'circle', size: 500, color: '#d62728', strokeWidth: 2 }, encoding: { x, y } },
      { data: { values: [chosen] }, mark: { type: 'text', align: 'right', dx: 12, dy: 26, fontWeight: 'bold', color: '#d62728' }, encoding: { x, y, text: { value: `recommended ${chosen.setting}` } } },
    );
  }
  if (budgetOnChart(result)) {
    const budget = result.input.budgetBytes!;
    layers.push({
      data: { values: [{ x: megabytes(budget) }, { x: megabytes(budget / (1 + result.input.marginPercent / 100)) }] },
      mark: { type: 'rule', color: '#d62728', strokeDash: [3, 3] },
      encoding: { x: { field: 'x', type: 'quantitative' } },
    });
  }
  return { title: `Memory against ${measure === 'coldResumes' ? 'cold resumes' : 'lost messages'}`, width: CHART_WIDTH, height: 280, layer: layers };
}

/** The costs plotted against the settings, cold resumes first: the one a TTL changes most. */
const COSTS = [
  { key: 'cold', title: 'Cold resumes', axis: 'cold resumes (mean)', mean: (outcome: SettingOutcome) => outcome.costs.coldResumes.mean, shown: (value: number) => round(value) },
  { key: 'peak', title: 'Peak memory', axis: 'peak MB (mean)', mean: (outcome: SettingOutcome) => megabytes(outcome.costs.peakBytes.mean), shown: (value: number) => `${value} MB` },
  { key: 'lost', title: 'Lost messages', axis: 'lost messages (mean)', mean: (outcome: SettingOutcome) => outcome.costs.lostMessages.mean, shown: (value: number) => round(value) },
  { key: 'refused', title: 'Refused sessions', axis: 'refused sessions (mean)', mean: (outcome: SettingOutcome) => outcome.costs.refusedSessions.mean, shown: (value: number) => round(value) },
] as const;
type Cost = (typeof COSTS)[number];

/** A cost that is the same at every setting of the grid: no chart, one sentence. */
function constantCost(result: TuneResult, cost: Cost): number | undefined {
  const values = new Set(result.settings.map((outcome) => cost.mean(outcome)));
  return values.size === 1 ? [...values][0] : undefined;
}

/** A cost against one setting: x the setting's values, one line per combination of the others, told apart by colour, dash and marker. */
function costAgainstSpec(result: TuneResult, dimension: Dimension, cost: Cost): Record<string, unknown> {
  const others = variedDimensions(result).filter((other) => other !== dimension);
  const values = result.settings.map((outcome) => ({
    x: outcome.values[dimension],
    y: cost.mean(outcome),
    others: others.map((other) => `${SHORT[other]} ${outcome.values[other]}`).join(' · ') || 'all',
  }));
  const legend = { field: 'others', type: 'nominal', title: others.length ? 'others held at' : '' };
  return {
    title: `${cost.title} against ${DIMENSION_LABELS[dimension]}`,
    width: CHART_WIDTH / 2 + 80,
    height: CHART_HEIGHT,
    data: { values },
    // Lines that coincide stay visible: each has its own dash and marker besides its colour.
    mark: { type: 'line', point: { size: 50, filled: false }, strokeWidth: 1.5 },
    encoding: {
      x: { field: 'x', type: 'ordinal', title: DIMENSION_LABELS[dimension], sort: null },
      y: { field: 'y', type: 'quantitative', title: cost.axis },
      color: legend,
      strokeDash: legend,
      shape: legend,
    },
  };
}

export async function tuneReportHtml(result: TuneResult, command: string): Promise<string> {
  const sections: Section[] = [];
  const frontierTable = htmlTable(
    ['#', 'settings', 'peak MB', 'lost messages', 'cold resumes', 'fits'],
    result.frontier.map((index) => {
      const outcome = result.settings[index]!;
      return [outcome.index + 1, describeSettings(outcome.settings), megabytes(outcome.costs.peakBytes.mean), round(outcome.costs.lostMessages.mean), round(outcome.costs.coldResumes.mean), outcome.fits ? 'yes' : outcome.reasons.join('; ')];
    }),
    { textColumns: [1, 5], highlight: result.frontier.map((index, row) => (index === result.recommended ? row : -1)).filter((row) => row >= 0) },
  );
  sections.push({
    heading: 'Frontier and recommendation',
    intro: `${tuneHeadline(result)}. The frontier holds the settings no other setting beats on memory, cold resumes and lost messages at once; the recommendation is the fitting one with the fewest cold resumes, then the fewest lost messages, then the least memory.`,
    figures: [
      { name: 'frontier:cold-resumes', caption: `Each point is a setting (means over seeds, the light bars their range); diamonds are on the frontier. ${budgetCaption(result)}`, svg: await renderSvg(frontierSpec(result, 'coldResumes') as never) },
      ...(constantCost(result, COSTS[2]) === undefined
        ? [{ name: 'frontier:lost-messages', caption: 'The same settings against the messages lost: dropped with a cold-resumed history, or trimmed by the history bound.', svg: await renderSvg(frontierSpec(result, 'lostMessages') as never) }]
        : []),
    ],
    table: frontierTable,
  });
  if (result.sensitivity.length) {
    sections[0] = {
      ...sections[0]!,
      table: `${frontierTable}\n${htmlTable(
        ['one step', 'to', 'Δ peak MB', 'Δ lost messages', 'Δ cold resumes', 'fits'],
        result.sensitivity.map((step) => [`${DIMENSION_LABELS[step.dimension]} ${step.direction}`, step.value, megabytes(step.peakBytesChange), round(step.lostMessagesChange), round(step.coldResumesChange), step.fits ? 'yes' : step.refusedSessions > 0 ? `refuses ${step.refusedSessions}` : 'no']),
        { textColumns: [0] },
      )}`,
    };
  }
  const costFigures: Figure[] = [];
  const constants: string[] = [];
  for (const cost of COSTS) {
    const constant = constantCost(result, cost);
    if (constant !== undefined) {
      constants.push(`${cost.title.toLowerCase()}: ${cost.shown(constant)} at every setting of the grid`);
      continue;
    }
    for (const dimension of variedDimensions(result)) {
      costFigures.push({ name: `cost:${cost.key}:${dimension}`, caption: `${cost.title} at each ${DIMENSION_LABELS[dimension]}, one line per combination of the other settings (colour, dash and marker).`, svg: await renderSvg(costAgainstSpec(result, dimension, cost) as never) });
    }
  }
  if (costFigures.length || constants.length) {
    sections.push({ heading: 'Cost against each setting', ...(constants.length ? { intro: `Not charted, the same everywhere: ${constants.join('; ')}.` } : {}), figures: costFigures });
  }
  // The recommendation and one step from it in each setting: what a step costs, over time. Without one, the frontier's first settings.
  const shown = result.recommended !== undefined ? [...new Set([result.recommended, ...result.sensitivity.map((step) => step.setting)])] : result.frontier.slice(0, 6);
  const sessions: LinePoint[] = [];
  const bytes: LinePoint[] = [];
  const history: LinePoint[] = [];
  for (const index of shown) {
    const outcome = result.settings[index]!;
    const series = outcome.runs[0]?.series ?? [];
    const label = `${settingLabel(result, outcome)}${index === result.recommended ? ' ★' : ''}`;
    for (const point of series) {
      sessions.push({ day: point.day, value: point.sessions, series: label, line: label });
      bytes.push({ day: point.day, value: megabytes(point.retainedBytes), series: label, line: label });
      history.push({ day: point.day, value: point.historyMessages, series: label, line: label });
    }
  }
  if (bytes.length) {
    sections.push({
      heading: 'Over simulated days',
      intro: `${result.recommended !== undefined ? 'The recommendation (★) and one step from it in each setting' : 'Settings on the frontier'}, seed ${result.input.seeds[0]}.`,
      figures: [
        { name: 'over-days:retained-bytes', caption: 'Retained memory (modelled), the largest in each interval.', svg: await renderSvg(overDaysSpec('Retained memory', 'MB (modelled)', bytes, 'setting', { days: result.input.days })) },
        { name: 'over-days:sessions', caption: 'Sessions held in memory.', svg: await renderSvg(overDaysSpec('Sessions in memory', 'sessions', sessions, 'setting', { days: result.input.days })) },
        { name: 'over-days:history', caption: 'History messages held across all sessions.', svg: await renderSvg(overDaysSpec('History size', 'history messages', history, 'setting', { days: result.input.days })) },
      ],
    });
  }
  sections.push({
    heading: 'Every setting',
    intro: 'Means over the seeds, with their range.',
    figures: [],
    table: htmlTable(
      ['#', ...DIMENSIONS.map((dimension) => DIMENSION_LABELS[dimension]), 'peak MB', 'p95 MB', 'cold resumes', 'lost messages', 'refused', 'fits'],
      result.settings.map((outcome) => [
        `${outcome.index + 1}${outcome.index === result.recommended ? ' ★' : ''}${outcome.onFrontier ? ' ◆' : ''}`,
        ...DIMENSIONS.map((dimension) => outcome.values[dimension]),
        range(outcome.costs.peakBytes, megabytes),
        range(outcome.costs.p95Bytes, megabytes),
        range(outcome.costs.coldResumes, round),
        range(outcome.costs.lostMessages, round),
        outcome.costs.refusedSessions.max,
        outcome.fits ? 'yes' : outcome.reasons.join('; '),
      ]),
      { textColumns: [0, 10], highlight: result.recommended === undefined ? [] : [result.recommended] },
    ),
  });
  const lede = `${command} — ${result.settings.length} settings × ${result.input.seeds.length} seeds of ${result.input.scenario.name} over ${result.input.days} days against ${result.input.targetName}. Memory is modelled: ${result.model.bytesPerSession} B per session + ${result.model.bytesPerHistoryMessage} B per history message (${result.model.source}).`;
  return htmlPage(`leaksim tune: ${result.input.scenario.name}`, lede, sections);
}

function budgetCaption(result: TuneResult): string {
  const budget = result.input.budgetBytes;
  if (budget === undefined) return 'No memory budget was given.';
  const text = `budget ${megabytes(budget)} MB, ${megabytes(budget / (1 + result.input.marginPercent / 100))} MB after the ${result.input.marginPercent}% margin`;
  return budgetOnChart(result) ? `Red rules: the ${text}.` : `The ${text}, is far to the right of every setting (not drawn).`;
}

function round(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function range(spread: { mean: number; min: number; max: number }, format: (value: number) => string | number): string {
  return String(format(spread.min)) === String(format(spread.max)) ? String(format(spread.mean)) : `${format(spread.mean)} (${format(spread.min)}–${format(spread.max)})`;
}
