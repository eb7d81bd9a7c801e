#!/usr/bin/env node
// Draws sim/'s stages from the imports (dependency-cruiser's mermaid output, folders collapsed) into
// docs/layout.md between its layout markers. `--check` writes nothing and exits 1 when the drawing
// there is stale (test/layout.test.ts runs it).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DOC = join(ROOT, 'docs/layout.md');
const BEGIN = '<!-- layout:begin -->';
const END = '<!-- layout:end -->';

export function layoutGraph() {
  const mermaid = execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs'), 'sim', 'src', '--config', '.dependency-cruiser.cjs', '--include-only', '^(sim|src)/', '--exclude', '^src/index\\.ts$', '--collapse', '^(sim/[^/]+|src)', '--output-type', 'mermaid'],
    { cwd: ROOT, encoding: 'utf8' },
  );
  return `${BEGIN}\n\`\`\`mermaid\n${mermaid.trim()}\n\`\`\`\n${END}`;
}

export function withGraph(doc, graph) {
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${DOC}: the markers ${BEGIN} … ${END} are missing`);
  return doc.slice(0, start) + graph + doc.slice(end + END.length);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const doc = readFileSync(DOC, 'utf8');
  const updated = withGraph(doc, layoutGraph());
  if (process.argv.includes('--check')) {
    if (updated !== doc) {
      console.error('docs/layout.md: the stage graph is stale; run npm run layout');
      process.exit(1);
    }
  } else if (updated !== doc) {
    writeFileSync(DOC, updated);
    console.log('docs/layout.md: stage graph redrawn');
  }
}
