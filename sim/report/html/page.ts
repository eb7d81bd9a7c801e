/**
 * The report.html page: one self-contained file (inline style, SVG charts, no script, no link to
 * anything), so it opens from file:// anywhere and a CI artifact needs nothing beside it.
 */

export interface Figure {
  /** A stable name the browser test and readers refer to. */
  readonly name: string;
  readonly caption: string;
  readonly svg: string;
}

export interface Section {
  /** The anchor a link reaches it by (`#scenario-steady-week`). */
  readonly id?: string;
  readonly heading: string;
  readonly intro?: string;
  readonly figures: readonly Figure[];
  /** A table in HTML (see `htmlTable`), shown beside the charts. */
  readonly table?: string;
}

const STYLE = `
body { font: 14px/1.45 Helvetica, Arial, sans-serif; color: #222; margin: 24px; max-width: 1400px; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 6px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
p.lede, p.intro { color: #444; max-width: 1000px; }
.section-body { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
figure.chart { margin: 0; border: 1px solid #eee; padding: 6px; background: #fff; }
figure.chart figcaption { font-size: 12px; color: #555; max-width: 600px; }
table { border-collapse: collapse; font-size: 12px; }
th, td { border: 1px solid #ddd; padding: 3px 6px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
td.text, th.text { text-align: left; }
tr.recommended td { background: #fff3cd; font-weight: bold; }
.pass { color: #1a7f37; } .fail { color: #cf222e; }
details > summary { cursor: pointer; list-style-position: outside; }
details > summary h2 { display: inline-block; border: none; }
.matrix-scroll { overflow-x: auto; max-width: 100%; }
table.matrix td, table.matrix th { text-align: left; vertical-align: top; max-width: 260px; }
table.matrix a { color: inherit; text-decoration: none; } table.matrix a:hover { text-decoration: underline; }
table.matrix td.pass { background: #eaf5ec; } table.matrix td.fail { background: #fbeaea; }
`;

export interface PageOptions {
  /** HTML shown under the lede, before the sections (the check's verdict matrix). */
  readonly overview?: string;
  /** Sections fold (<details>, open): a long page is read by opening what matters. */
  readonly folding?: boolean;
}

export function htmlPage(title: string, lede: string, sections: readonly Section[], options: PageOptions = {}): string {
  const body = sections.map((section) => {
    const figures = section.figures.map((figure) => `<figure class="chart" data-chart="${escapeHtml(figure.name)}">\n${figure.svg}\n<figcaption>${escapeHtml(figure.caption)}</figcaption>\n</figure>`).join('\n');
    const id = section.id ? ` id="${escapeHtml(section.id)}"` : '';
    const heading = `<h2>${escapeHtml(section.heading)}</h2>`;
    const content = [section.intro ? `<p class="intro">${escapeHtml(section.intro)}</p>` : '', `<div class="section-body">`, figures, section.table ?? '', `</div>`];
    const inner = options.folding ? [`<details open>`, `<summary>${heading}</summary>`, ...content, `</details>`] : [heading, ...content];
    return [`<section${id}>`, ...inner, `</section>`].filter(Boolean).join('\n');
  });
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    // No network at all: nothing but what is inline may load.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="lede">${escapeHtml(lede)}</p>`,
    ...(options.overview ? [options.overview] : []),
    ...body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

export interface TableOptions {
  /** Columns (by index) whose cells are text, left-aligned. */
  readonly textColumns?: readonly number[];
  /** Row indices to highlight as the recommendation. */
  readonly highlight?: readonly number[];
  readonly className?: string;
}

export function htmlTable(header: readonly string[], rows: readonly (readonly (string | number)[])[], options: TableOptions = {}): string {
  const text = new Set(options.textColumns ?? []);
  const highlight = new Set(options.highlight ?? []);
  const head = `<tr>${header.map((cell, column) => `<th${text.has(column) ? ' class="text"' : ''}>${escapeHtml(cell)}</th>`).join('')}</tr>`;
  const body = rows.map((row, index) => `<tr${highlight.has(index) ? ' class="recommended"' : ''}>${row.map((cell, column) => `<td${text.has(column) ? ' class="text"' : ''}>${escapeHtml(String(cell))}</td>`).join('')}</tr>`);
  return `<table${options.className ? ` class="${options.className}"` : ''}>\n${head}\n${body.join('\n')}\n</table>`;
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
