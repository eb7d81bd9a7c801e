/**
 * The timeline's report folder: summary.md (the table and the changes), summary.json (everything,
 * in a stable key order, what `leaksim merge` reads back), report.html (a release × invariant heat
 * map and the peaks per release). Every byte follows from the timeline: no time, no path of a
 * temporary folder, no mark of which runs came from the cache.
 */
import { INVARIANT_NAMES } from '../check/catalogue.ts';
import { megabytes } from '../check/costs.ts';
import { CHART_HEIGHT, renderSvg } from '../report/html/charts.ts';
import { htmlPage, htmlTable, type Section } from '../report/html/page.ts';
import type { BisectResult } from './bisect.ts';
import { regressions, type Cell, type Timeline, type TimelineRelease } from './timeline.ts';

/** summary.json's format; `leaksim merge` reads only this one. */
export const HISTORY_REPORT_FORMAT = 1;

const MARK: Readonly<Record<Cell, string>> = { pass: 'pass', fail: 'FAIL', error: 'error' };

function count(value: number | null): string {
  return value === null ? '–' : value.toLocaleString('en-US');
}

function mb(value: number | null): string {
  return value === null ? '–' : `${megabytes(value)}`;
}

export function historyHeadline(timeline: Timeline): string {
  const errors = timeline.releases.filter((release) => release.error !== null).length;
  const range = `${timeline.input.from.ref ?? 'the first release'} → ${timeline.input.to.ref}`;
  return `${timeline.releases.length} release${timeline.releases.length === 1 ? '' : 's'} of ${timeline.input.clone} (${range}), ${timeline.input.scenarios.join(', ')}, seed${timeline.input.seeds.length === 1 ? '' : 's'} ${timeline.input.seeds.join(', ')}: ${timeline.failing.length} invariant${timeline.failing.length === 1 ? '' : 's'} failed somewhere${errors ? `, ${errors} release${errors === 1 ? '' : 's'} could not run` : ''}${timeline.shard ? ` (shard ${timeline.shard.index}/${timeline.shard.count} of ${timeline.shard.releases} releases)` : ''}`;
}

/** The lines `history` prints: one per release, then the changes. */
export function historyLines(timeline: Timeline): string[] {
  const lines = timeline.releases.map((release) => {
    if (release.error !== null && timeline.failing.every((name) => release.cells[name] === 'error')) return `! ${release.tag}: error: ${release.error}`;
    const failed = INVARIANT_NAMES.filter((name) => release.cells[name] === 'fail');
    const mark = failed.length === 0 ? '✓' : '✗';
    return `${mark} ${release.tag}: ${failed.length === 0 ? 'every invariant passed' : `fails ${failed.join(', ')}`}; peak ${count(release.peakSessions)} sessions, ${count(release.peakHistoryMessages)} history messages, ${mb(release.peakBytes)} MB${release.error ? `; error: ${release.error}` : ''}`;
  });
  for (const change of timeline.transitions) lines.push(`  ${change.invariant} ${change.change} at ${change.release} (after ${change.after})`);
  return lines;
}

export function historySummaryMarkdown(timeline: Timeline): string {
  const columns = timeline.failing;
  const lines = [
    `# leaksim history`,
    '',
    historyHeadline(timeline),
    '',
    `| release | version | ${columns.join(' | ')}${columns.length ? ' | ' : ''}peak sessions | peak history messages | peak modelled MB | note |`,
    `|---|---|${columns.map(() => '---|').join('')}---:|---:|---:|---|`,
    ...timeline.releases.map(
      (release) =>
        `| ${release.tag} | ${release.version ?? '–'} | ${columns.map((name) => MARK[release.cells[name]]).join(' | ')}${columns.length ? ' | ' : ''}${count(release.peakSessions)} | ${count(release.peakHistoryMessages)} | ${mb(release.peakBytes)} | ${release.error === null ? '' : `error: ${release.error.replace(/\|/g, '\\|')}`} |`,
    ),
    '',
    columns.length === INVARIANT_NAMES.length ? '' : `Every other invariant (${INVARIANT_NAMES.filter((name) => !columns.includes(name)).join(', ')}) passed in every release that ran.`,
    '',
    '## Where each invariant started or stopped failing',
    '',
    ...(timeline.transitions.length === 0 ? ['No invariant changed its verdict between the releases that ran.'] : timeline.transitions.map((change) => `- \`${change.invariant}\` ${change.change} at **${change.release}** (after ${change.after})`)),
    '',
  ];
  const regressed = regressions(timeline);
  if (regressed.length > 0) lines.push(`Regressed at the newest release: ${regressed.map((name) => `\`${name}\``).join(', ')} (passed in an earlier release of the range).`, '');
  return lines.join('\n');
}

export function historySummaryJson(timeline: Timeline): string {
  const body = {
    leaksimHistory: HISTORY_REPORT_FORMAT,
    command: 'history',
    input: timeline.input,
    shard: timeline.shard,
    failing: timeline.failing,
    regressions: regressions(timeline),
    transitions: timeline.transitions,
    releases: timeline.releases.map((release) => ({
      tag: release.tag,
      commit: release.commit,
      version: release.version,
      sessionPathHash: release.sessionPathHash,
      error: release.error,
      cells: release.cells,
      peakSessions: release.peakSessions,
      peakHistoryMessages: release.peakHistoryMessages,
      peakBytes: release.peakBytes,
      runs: release.runs,
    })),
  };
  return `${JSON.stringify(body, null, 2)}\n`;
}

function heatMapSpec(timeline: Timeline): Record<string, unknown> {
  const shown = timeline.failing.length > 0 ? timeline.failing : INVARIANT_NAMES;
  const values = timeline.releases.flatMap((release) => shown.map((invariant) => ({ release: release.tag, invariant, verdict: release.cells[invariant] })));
  return {
    title: 'verdict per release and invariant',
    width: { step: 22 },
    height: { step: 18 },
    data: { values },
    mark: { type: 'rect', stroke: '#fff' },
    encoding: {
      x: { field: 'release', type: 'ordinal', sort: timeline.releases.map((release) => release.tag), title: 'release', axis: { labelAngle: -60 } },
      y: { field: 'invariant', type: 'ordinal', sort: [...shown], title: null, axis: { labelLimit: 260 } },
      color: { field: 'verdict', type: 'nominal', title: 'verdict', scale: { domain: ['pass', 'fail', 'error'], range: ['#2da44e', '#cf222e', '#8c959f'] } },
    },
  };
}

function perReleaseSpec(timeline: Timeline, title: string, yTitle: string, value: (release: TimelineRelease) => number | null): Record<string, unknown> {
  const values = timeline.releases.flatMap((release) => {
    const y = value(release);
    return y === null ? [] : [{ release: release.tag, value: y }];
  });
  return {
    title,
    width: Math.max(240, 22 * timeline.releases.length),
    height: CHART_HEIGHT,
    data: { values },
    mark: { type: 'line', point: true, strokeWidth: 1.5 },
    encoding: {
      // Every release on the axis, also those without a point, so that the charts line up with the heat map.
      x: { field: 'release', type: 'ordinal', scale: { domain: timeline.releases.map((release) => release.tag) }, title: 'release', axis: { labelAngle: -60 } },
      y: { field: 'value', type: 'quantitative', title: yTitle },
    },
  };
}

export async function historyReportHtml(timeline: Timeline): Promise<string> {
  const sections: Section[] = [
    {
      heading: 'Verdicts',
      intro: 'Each cell: whether the invariant held in every run of the release (pass), was violated in at least one (fail), or the release could not be run (error; its reason is in the table). Only invariants that failed somewhere are drawn.',
      figures: [{ name: 'heat-map', caption: 'release × invariant', svg: await renderSvg(heatMapSpec(timeline) as never) }],
      table: htmlTable(
        ['invariant', 'change', 'at release', 'after'],
        timeline.transitions.map((change) => [change.invariant, change.change, change.release, change.after]),
        { textColumns: [0, 1, 2, 3] },
      ),
    },
    {
      heading: 'Peaks per release',
      intro: 'The highest value over the release’s runs; releases that could not run have no point.',
      figures: [
        { name: 'peak-sessions', caption: 'peak sessions in memory', svg: await renderSvg(perReleaseSpec(timeline, 'peak sessions', 'sessions', (release) => release.peakSessions) as never) },
        { name: 'peak-history', caption: 'peak history messages held', svg: await renderSvg(perReleaseSpec(timeline, 'peak history messages', 'history messages', (release) => release.peakHistoryMessages) as never) },
        { name: 'peak-bytes', caption: 'peak modelled memory', svg: await renderSvg(perReleaseSpec(timeline, 'peak modelled memory', 'MB (modelled)', (release) => (release.peakBytes === null ? null : megabytes(release.peakBytes))) as never) },
      ],
    },
    {
      heading: 'Releases',
      figures: [],
      table: htmlTable(
        ['release', 'version', 'failing invariants', 'peak sessions', 'peak history messages', 'peak MB', 'error'],
        timeline.releases.map((release) => [
          release.tag,
          release.version ?? '–',
          INVARIANT_NAMES.filter((name) => release.cells[name] === 'fail').join(', ') || (release.error === null ? 'none' : '–'),
          count(release.peakSessions),
          count(release.peakHistoryMessages),
          mb(release.peakBytes),
          release.error ?? '',
        ]),
        { textColumns: [0, 1, 2, 6] },
      ),
    },
  ];
  return htmlPage('leaksim history', historyHeadline(timeline), sections);
}

/** The lines `history --bisect` prints, and summary.md's body. */
export function bisectLines(result: BisectResult): string[] {
  const short = (commit: string | null) => (commit ?? '').slice(0, 12);
  const subject = (commit: string | null) => result.steps.find((step) => step.commit === commit)?.subject ?? '';
  const head =
    result.outcome === 'changed'
      ? `${result.invariant}: ${result.before} → ${result.after}, first at ${short(result.first)} ${JSON.stringify(subject(result.first))}`
      : result.outcome === 'unchanged'
        ? `${result.invariant}: ${result.before} at both ${result.from.ref} and ${result.to.ref}: no change to find`
        : `${result.invariant}: ${result.before} → ${result.after}, somewhere from ${short(result.first)} to ${short(result.last)} (the commits between could not be run)`;
  return [
    head,
    `  ${result.steps.length} run${result.steps.length === 1 ? '' : 's'} over ${result.commits} commits from ${result.from.ref} (${short(result.from.commit)}) to ${result.to.ref} (${short(result.to.commit)}):`,
    ...result.steps.map((step) => `    ${short(step.commit)} ${step.verdict}${step.note ? ` (${step.note})` : ''}: ${step.subject}`),
  ];
}

export function bisectSummaryMarkdown(result: BisectResult): string {
  return ['# leaksim history --bisect', '', ...bisectLines(result).map((line) => (line.startsWith(' ') ? `    ${line.trim()}` : line)), ''].join('\n');
}

export function bisectSummaryJson(result: BisectResult): string {
  return `${JSON.stringify({ leaksimHistory: HISTORY_REPORT_FORMAT, command: 'history --bisect', ...result }, null, 2)}\n`;
}
