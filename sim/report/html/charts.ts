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

export interface LinePoint {
  readonly day: number;
  readonly value: number;
  /** What the colour says (a target, a setting). */
  readonly series: string;
  /** Lines of one colour kept apart (seeds). */
  readonly line: string;
}

/** A metric over simulated days, one line per run, coloured by `series`. */
export function overDaysSpec(title: string, yTitle: string, points: readonly LinePoint[], colourTitle: string): Spec {
  return {
    title,
    width: CHART_WIDTH,
    height: CHART_HEIGHT,
    data: { values: points as unknown as Record<string, unknown>[] },
    // A short run has few samples (a single one draws no line at all): mark each point then.
    mark: { type: 'line', strokeWidth: 1.5, interpolate: 'step-after', ...(points.length < SHORT_SERIES_POINTS ? { point: true } : {}) },
    encoding: {
      x: { field: 'day', type: 'quantitative', title: 'simulated day' },
      y: { field: 'value', type: 'quantitative', title: yTitle },
      color: { field: 'series', type: 'nominal', title: colourTitle },
      detail: { field: 'line', type: 'nominal' },
    },
  };
}
