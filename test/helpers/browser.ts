/**
 * A real browser for report.html: Debian's chromium (no browser download), driven by
 * playwright-core. `inspectReport` opens a page from file:// and lists what is wrong with it: a
 * chart that did not render, a console error, a network request. An empty list is a good page.
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'];

/** Why the browser tests cannot run here, or undefined when they can. In CI a missing chromium is a failure, not a skip. */
export function browserUnavailable(): string | undefined {
  if (existsSync(CHROMIUM_PATH)) return undefined;
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM_PATH} is missing in CI: .ci/run installs it with apt-get install chromium`);
  return `skipped: no ${CHROMIUM_PATH} (apt-get install chromium to check report.html in a real browser)`;
}

export async function launchBrowser(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_FLAGS });
}

export interface ReportInspection {
  readonly problems: string[];
  /** data-chart names of the figures that rendered. */
  readonly charts: string[];
}

/** Opens `file` and checks every chart, the console and the network; saves a full-page screenshot when `screenshot` is given. */
export async function inspectReport(browser: Browser, file: string, screenshot?: string): Promise<ReportInspection> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const problems: string[] = [];
  const url = pathToFileURL(file).href;
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('request', (request) => {
    if (request.url() !== url) problems.push(`network request: ${request.url()}`);
  });
  try {
    await page.goto(url, { waitUntil: 'load' });
    const figures = await page.$$eval('figure.chart', (elements) =>
      elements.map((figure) => {
        const svg = figure.querySelector('svg');
        const box = svg?.getBoundingClientRect();
        // Vega draws each mark in a group of class role-mark; a rendered chart has drawn shapes in one.
        const shapes = svg ? [...svg.querySelectorAll('.role-mark path, .role-mark line, .role-mark text, .role-mark rect')].filter((shape) => {
          const rect = shape.getBoundingClientRect();
          return rect.width > 0 || rect.height > 0;
        }).length : 0;
        return { name: figure.getAttribute('data-chart') ?? '(unnamed)', width: box?.width ?? 0, height: box?.height ?? 0, shapes };
      }),
    );
    if (figures.length === 0) problems.push('no chart on the page');
    for (const figure of figures) {
      if (figure.width === 0 || figure.height === 0) problems.push(`chart ${figure.name}: no SVG drawn`);
      else if (figure.shapes === 0) problems.push(`chart ${figure.name}: the SVG holds no marks`);
    }
    if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
    return { problems, charts: figures.filter((figure) => figure.shapes > 0).map((figure) => figure.name) };
  } finally {
    await page.close();
  }
}
