/**
 * report.html of run, check and replay: per scenario, sessions in memory, retained bytes and
 * history size over simulated days, one line per target and seed (the leaky baseline climbing, the
 * reference flat), beside a table of each run's verdict, settings and costs.
 */
import { describeSettings, megabytes } from '../../check/costs.ts';
import { memoryModel } from '../../heap-analysis/memory-model.ts';
import { describeOutcome, expectationNote, outcomeLine, outcomePassed, reportHeadline, type Report } from '../report.ts';
import type { RunOutcome } from '../../runs/run.ts';
import { downsample } from '../series.ts';
import { Charts, overDaysSpec, seriesColours, type LinePoint } from './charts.ts';
import { escapeHtml, htmlPage, htmlTable, type Figure, type Section } from './page.ts';

/** Points per run line: enough to show a week's daily rhythm. */
const POINTS_PER_RUN = 168;

/** `charts`: where the page's charts are rendered and kept (a check hands the one it rendered scenarios into as their runs finished). */
export async function runReportHtml(report: Report, charts = new Charts()): Promise<string> {
  const model = memoryModel();
  const byScenario = new Map<string, RunOutcome[]>();
  for (const outcome of report.outcomes) byScenario.set(outcome.scenario, [...(byScenario.get(outcome.scenario) ?? []), outcome]);
  // One colour per target in every chart of the page, in the order the report lists them.
  const targets = [...new Set(report.outcomes.map((outcome) => outcome.target))];
  const colours = seriesColours(targets);
  const sections: Section[] = [];
  for (const [scenario, outcomes] of byScenario) {
    const figures = await scenarioFigures(scenario, outcomes, colours, charts);
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
    sections.push({ id: scenarioAnchor(scenario), heading: scenario, figures, table });
  }
  if (report.flaws?.length) {
    sections.push({
      id: 'flaws',
      heading: 'Flaws caught',
      intro: 'Each named flaw of the leaky baseline must be caught by at least one scenario.',
      figures: [],
      table: htmlTable(['flaw', 'caught', 'caught by'], report.flaws.map((coverage) => [coverage.flaw, coverage.caughtBy.length ? '✓' : '✗ not caught', coverage.caughtBy.map((by) => `${by.scenario} (${by.invariant})`).join(', ')]), { textColumns: [0, 1, 2], className: 'flaws' }),
    });
  }
  // The verdict in summary.md's words; for run and replay (judged by the invariants) each run's
  // as the terminal gives it, with its "(as expected)".
  const runs = report.judgedBy === 'invariants' ? `: ${report.outcomes.map((outcome) => outcomeLine(outcome, report.judgedBy)).join('; ')}` : '';
  const lede = `${reportHeadline(report)}. ${report.outcomes.length} run${report.outcomes.length === 1 ? '' : 's'}${runs}. Memory is modelled from the committed heap baselines (${model.source}).`;
  const check = report.judgedBy !== 'invariants';
  return htmlPage(`leaksim ${report.command}`, lede, sections, check ? { overview: verdictMatrix(report, byScenario, targets), folding: true } : {});
}

/** A scenario's three charts over simulated days: sessions, retained memory, history size; one line per target and seed. */
async function scenarioFigures(scenario: string, outcomes: readonly RunOutcome[], colours: ReturnType<typeof seriesColours>, charts: Charts): Promise<Figure[]> {
  const model = memoryModel();
  const sessions: LinePoint[] = [];
  const bytes: LinePoint[] = [];
  const history: LinePoint[] = [];
  // Seeds of one target share its colour and differ by dash, when the scenario has several.
  const seeded = new Set(outcomes.map((outcome) => outcome.seed)).size > 1;
  for (const outcome of outcomes) {
    if (!outcome.result) continue;
    const line = `${outcome.target} seed ${outcome.seed}`;
    const dash = seeded ? { dash: `seed ${outcome.seed}` } : {};
    for (const point of downsample(outcome.result.samples, model, POINTS_PER_RUN)) {
      sessions.push({ day: point.day, value: point.sessions, series: outcome.target, line, ...dash });
      bytes.push({ day: point.day, value: megabytes(point.retainedBytes), series: outcome.target, line, ...dash });
      history.push({ day: point.day, value: point.historyMessages, series: outcome.target, line, ...dash });
    }
  }
  if (!sessions.length) return [];
  // The x axis covers the whole run, also where a failing run stopped early.
  const chart = { colours, days: Math.max(...outcomes.map((outcome) => outcome.days)) };
  const legend = 'Colour: the target, the same in every chart of this page';
  const seeds = seeded ? '; dash: the seed' : '';
  // All three asked for at once (Charts renders them one at a time, in this order).
  const svgs = [
    charts.render(overDaysSpec(`${scenario}: sessions in memory`, 'sessions', sessions, 'target', chart)),
    charts.render(overDaysSpec(`${scenario}: retained memory`, 'MB (modelled)', bytes, 'target', chart)),
    charts.render(overDaysSpec(`${scenario}: history size`, 'history messages', history, 'target', chart)),
  ];
  return [
    { name: `${scenario}:sessions`, caption: `Sessions held in memory (the largest in each interval), one line per target and seed. ${legend}${seeds}.`, svg: await svgs[0]! },
    { name: `${scenario}:retained-bytes`, caption: `Retained memory from the model (${model.bytesPerSession} B per session + ${model.bytesPerHistoryMessage} B per history message). ${legend}${seeds}.`, svg: await svgs[1]! },
    { name: `${scenario}:history`, caption: `History messages held across all sessions. ${legend}${seeds}.`, svg: await svgs[2]! },
  ];
}

/**
 * For a check whose runs go on in `jobs` child processes: renders each scenario's charts into
 * `charts` once its last run is done and a core is free (fewer runs left than jobs: a child is idle,
 * waiting for the longest run to end), in the order and colours the page will use (the plan's, which
 * is the report's), so that writing the page at the end finds them rendered instead of rendering
 * them all after the longest run. Rendering while every child is still busy would take a core from
 * the runs. Returns the callback for each finished run, in any order. Never in a process that runs
 * simulations itself: a run's fake clock would take Vega's timers.
 */
export function renderAsRunsFinish(plan: readonly { readonly scenario: { readonly name: string }; readonly target: string }[], jobs: number, charts: Charts): (outcome: RunOutcome, index: number) => void {
  const colours = seriesColours([...new Set(plan.map((run) => run.target))]);
  const left = new Map<string, number>();
  for (const run of plan) left.set(run.scenario.name, (left.get(run.scenario.name) ?? 0) + 1);
  const finished: RunOutcome[] = [];
  let runsLeft = plan.length;
  /** Scenarios whose runs are all done, waiting for a free core. */
  const ready: string[] = [];
  const render = (scenario: string) => {
    const outcomes = plan.flatMap((run, at) => (run.scenario.name === scenario ? [finished[at]!] : []));
    // A chart that fails to render here fails again, and is reported, when the page is written.
    scenarioFigures(scenario, outcomes, colours, charts).catch(() => undefined);
  };
  return (outcome, index) => {
    finished[index] = outcome;
    runsLeft -= 1;
    const scenario = plan[index]!.scenario.name;
    const remaining = left.get(scenario)! - 1;
    left.set(scenario, remaining);
    if (remaining === 0) ready.push(scenario);
    if (runsLeft < jobs) for (const next of ready.splice(0)) render(next);
  };
}

function scenarioAnchor(scenario: string): string {
  return `scenario-${scenario.replace(/[^\w-]+/g, '-')}`;
}

/**
 * The check at a glance: a row per scenario, a column per target, each cell ✓ or ✗ (every seed's
 * verdict as expected, or not) with the first violation it shows, linking to the scenario's section.
 */
function verdictMatrix(report: Report, byScenario: ReadonlyMap<string, readonly RunOutcome[]>, targets: readonly string[]): string {
  const rows = [...byScenario].map(([scenario, outcomes]) => {
    const cells = targets.map((target) => {
      const runs = outcomes.filter((outcome) => outcome.target === target);
      if (runs.length === 0) return '<td class="none">–</td>';
      const failed = runs.find((outcome) => !outcomePassed(outcome, report.judgedBy));
      const shown = failed ?? runs.find((outcome) => outcome.firstViolation || outcome.error) ?? runs[0]!;
      const what = describeOutcome(shown).split(': ')[0]!;
      const seeds = runs.length > 1 ? ` (${runs.length} seeds${failed ? `, seed ${failed.seed}` : ''})` : '';
      return `<td class="${failed ? 'fail' : 'pass'}"><a href="#${scenarioAnchor(scenario)}">${failed ? '✗' : '✓'} ${escapeHtml(what + seeds)}</a></td>`;
    });
    return `<tr><th class="text"><a href="#${scenarioAnchor(scenario)}">${escapeHtml(scenario)}</a></th>${cells.join('')}</tr>`;
  });
  const head = `<tr><th class="text">scenario</th>${targets.map((target) => `<th class="text">${escapeHtml(target)}</th>`).join('')}</tr>`;
  const flaws = report.flaws?.length ? `<p class="intro"><a href="#flaws">Flaws caught: ${report.flaws.filter((coverage) => coverage.caughtBy.length > 0).length}/${report.flaws.length}</a></p>` : '';
  return [`<section id="verdicts">`, `<h2>Verdicts</h2>`, `<p class="intro">✓: every seed's verdict as its scenario expects (a violation shown in a ✓ cell was expected); ✗: not. Each cell links to its scenario's charts and table.</p>`, `<div class="matrix-scroll"><table class="matrix">`, head, ...rows, `</table></div>`, flaws, `</section>`].filter(Boolean).join('\n');
}
