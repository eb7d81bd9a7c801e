/**
 * Charts for report.html: Vega-Lite specifications compiled and rendered to SVG here, at report
 * time, by Vega's own headless renderer. The page then needs no script and no network, opens from
 * file://, and its bytes depend only on the data: Vega's SVG ids are reset before each chart, and
 * text is measured by Vega's built-in estimate (no canvas in Node), the same on every machine.
 */
import type { TopLevelSpec } from 'vega-lite';

/** One look for every chart. */
const CONFIG = {
  font: 'Helvetica, Arial, sans-serif',
  view: { stroke: '#ccc' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 260 },
  title: { fontSize: 13, anchor: 'start' as const },
};

export const CHART_WIDTH = 400;
export const CHART_HEIGHT = 220;
/** Below this many points in a chart, each point is marked as well as joined. */
const SHORT_SERIES_POINTS = 30;

type Spec = Omit<TopLevelSpec, '$schema' | 'config'> & Record<string, unknown>;

let modules: Promise<{ vega: typeof import('vega'); vegaLite: typeof import('vega-lite') }> | undefined;

/** Vega is loaded on the first chart only: commands that write no report never pay for it. */
function load() {
  modules ??= Promise.all([import('vega'), import('vega-lite')]).then(([vega, vegaLite]) => ({ vega, vegaLite }));
  return modules;
}

/** Renders a Vega-Lite spec to an SVG string. */
export async function renderSvg(spec: Spec): Promise<string> {
  const { vega, vegaLite } = await load();
  const compiled = vegaLite.compile({ ...spec, config: CONFIG } as TopLevelSpec).spec;
  vega.resetSVGDefIds();
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Error });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * The charts of one report, rendered one at a time and kept by their spec. One at a time because
 * Vega's SVG ids come from a counter shared by every view, reset before each chart: two renders
 * that interleaved would number each other's ids. Kept, so that a chart rendered early (`check`
 * renders a scenario's charts as soon as its runs are done, while its other runs go on in child
 * processes) is not rendered again when the page is written: the same spec, the same SVG. Held by
 * one command for one report, never process-wide, so that nothing piles up across commands.
 */
export class Charts {
  #last: Promise<unknown> = Promise.resolve();
  readonly #svgs = new Map<string, Promise<string>>();
  /** Charts asked for that were not kept, each rendered once (counted when asked for). */
  rendered = 0;

  /** The chart's SVG: kept, or rendered after every chart asked for before it. */
  render(spec: Spec): Promise<string> {
    const key = JSON.stringify(spec);
    let svg = this.#svgs.get(key);
    if (!svg) {
      this.rendered += 1;
      svg = this.#last.then(() => renderSvg(spec));
      this.#last = svg.catch(() => undefined);
      this.#svgs.set(key, svg);
    }
    return svg;
  }
}

export interface LinePoint {
  readonly day: number;
  readonly value: number;
  /** What the colour says (a target, a setting). */
  readonly series: string;
  /** Lines of one colour kept apart (seeds). */
  readonly line: string;
  /** What the dash says, when lines of one colour differ by it (the seed: "seed 2"). */
  readonly dash?: string;
}

/**
 * Colours given by a report to its series once, so that a target has the same colour in every
 * chart of the report (Tableau 20, then its darker shades: 30 before a colour repeats).
 */
const PALETTE = [
  '#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac',
  '#a0cbe8', '#ffbe7d', '#ff9d9a', '#86bcb6', '#8cd17d', '#f1ce63', '#d4a6c8', '#fabfd2', '#d7b5a6', '#79706e',
  '#2b5c8a', '#b8621b', '#a3272a', '#3e8580', '#2f7a2a', '#b0901c', '#7d4d72', '#c9656e', '#6b4c3a', '#4f4a48',
];

/** A fixed colour for each series name, in the order given: pass the same map to every chart of a report. */
export function seriesColours(names: readonly string[]): ReadonlyMap<string, string> {
  return new Map(names.map((name, index) => [name, PALETTE[index % PALETTE.length]!]));
}

export interface OverDaysOptions {
  /** Colours by series (seriesColours), the same in every chart of the report. */
  readonly colours?: ReadonlyMap<string, string>;
  /** The x axis runs from day 0 to this, the length of the run, even where a run stopped early. */
  readonly days?: number;
}

/** A metric over simulated days, one line per run, coloured by `series` (and dashed by `dash`, when given). */
export function overDaysSpec(title: string, yTitle: string, points: readonly LinePoint[], colourTitle: string, options: OverDaysOptions = {}): Spec {
  const present = [...new Set(points.map((point) => point.series))];
  const colours = options.colours;
  const dashed = points.some((point) => point.dash !== undefined);
  return {
    title,
    width: CHART_WIDTH,
    height: CHART_HEIGHT,
    data: { values: points as unknown as Record<string, unknown>[] },
    // A short run has few samples (a single one draws no line at all): mark each point then.
    mark: { type: 'line', strokeWidth: 1.5, interpolate: 'step-after', ...(points.length < SHORT_SERIES_POINTS ? { point: true } : {}) },
    encoding: {
      x: { field: 'day', type: 'quantitative', title: 'simulated day', ...(options.days !== undefined ? { scale: { domain: [0, options.days], nice: false } } : {}) },
      y: { field: 'value', type: 'quantitative', title: yTitle },
      color: {
        field: 'series',
        type: 'nominal',
        title: colourTitle,
        ...(colours ? { scale: { domain: present, range: present.map((name) => colours.get(name) ?? '#888') } } : {}),
      },
      ...(dashed ? { strokeDash: { field: 'dash', type: 'nominal', title: 'seed' } } : {}),
      detail: { field: 'line', type: 'nominal' },
    },
  };
}
