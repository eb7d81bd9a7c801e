/**
 * report.html of run, check and replay: per scenario, sessions in memory, retained bytes and
 * history size over simulated days, one line per target and seed (the leaky baseline climbing, the
 * reference flat), beside a table of each run's verdict, settings and costs.
 */
import { describeSettings, megabytes } from '../../check/costs.ts';
import { memoryModel } from '../../heap-analysis/memory-model.ts';
import { describeOutcome, expectationNote, outcomeLine, reportHeadline, type Report } from '../report.ts';
import type { RunOutcome } from '../../runs/run.ts';
import { downsample } from '../series.ts';
import { overDaysSpec, renderSvg, type LinePoint } from './charts.ts';
import { htmlPage, htmlTable, type Section } from './page.ts';

/** Points per run line: enough to show a week's daily rhythm. */
const POINTS_PER_RUN = 168;

export async function runReportHtml(report: Report): Promise<string> {
  const model = memoryModel();
  const byScenario = new Map<string, RunOutcome[]>();
  for (const outcome of report.outcomes) byScenario.set(outcome.scenario, [...(byScenario.get(outcome.scenario) ?? []), outcome]);
  const sections: Section[] = [];
  for (const [scenario, outcomes] of byScenario) {
    const sessions: LinePoint[] = [];
    const bytes: LinePoint[] = [];
    const history: LinePoint[] = [];
    for (const outcome of outcomes) {
      if (!outcome.result) continue;
      const line = `${outcome.target} seed ${outcome.seed}`;
      for (const point of downsample(outcome.result.samples, model, POINTS_PER_RUN)) {
        sessions.push({ day: point.day, value: point.sessions, series: outcome.target, line });
        bytes.push({ day: point.day, value: megabytes(point.retainedBytes), series: outcome.target, line });
        history.push({ day: point.day, value: point.historyMessages, series: outcome.target, line });
      }
    }
    const figures = sessions.length
      ? [
          { name: `${scenario}:sessions`, caption: 'Sessions held in memory (the largest in each interval), one line per target and seed.', svg: await renderSvg(overDaysSpec(`${scenario}: sessions in memory`, 'sessions', sessions, 'target')) },
          { name: `${scenario}:retained-bytes`, caption: `Retained memory from the model (${model.bytesPerSession} B per session + ${model.bytesPerHistoryMessage} B per history message).`, svg: await renderSvg(overDaysSpec(`${scenario}: retained memory`, 'MB (modelled)', bytes, 'target')) },
          { name: `${scenario}:history`, caption: 'History messages held across all sessions.', svg: await renderSvg(overDaysSpec(`${scenario}: history size`, 'history messages', history, 'target')) },
        ]
      : [];
    const table = htmlTable(
      ['target', 'seed', 'verdict', 'settings', 'peak MB', 'p95 MB', 'cold resumes', 'lost messages', 'refused'],
      outcomes.map((outcome) => [
        outcome.target,
        outcome.seed,
        describeOutcome(outcome) + expectationNote(outcome),
        describeSettings(outcome.settings),
        outcome.costs ? megabytes(outcome.costs.memory.peakBytes) : '–',
        outcome.costs ? megabytes(outcome.costs.memory.p95Bytes) : '–',
        outcome.costs?.contextLost.coldResumes ?? '–',
        outcome.costs?.contextLost.lostMessages ?? '–',
        outcome.costs?.workRefused.refusedSessions ?? '–',
      ]),
      { textColumns: [0, 2, 3] },
    );
    sections.push({ heading: scenario, figures, table });
  }
  // The verdict in summary.md's words; for run and replay (judged by the invariants) each run's
  // as the terminal gives it, with its "(as expected)".
  const runs = report.judgedBy === 'invariants'
    ? `: ${report.outcomes.map((outcome) => outcomeLine(outcome, report.judgedBy)).join('; ')}`
    : '';
  const lede = `${reportHeadline(report)}. ${report.outcomes.length} run${report.outcomes.length === 1 ? '' : 's'}${runs}. Memory is modelled from the committed heap baselines (${model.source}).`;
  return htmlPage(`leaksim ${report.command}`, lede, sections);
}
