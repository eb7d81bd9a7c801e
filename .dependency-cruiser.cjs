/**
 * leaksim's architecture, as rules the import graph must follow (checked by `npm test`, see
 * test/layout.test.ts; `npm run layout` draws the picture in docs/layout.svg).
 *
 * sim/ is a stack of stages. A stage may import the stages listed before it and src/ (the
 * reference the simulator drives), never one listed after it: data flows traffic → driver →
 * target → checker → report, and the command line sits on top as a thin shell.
 */
const STAGES = [
  ['engine', 'virtual time, randomness, the traffic model, the simulated agent'],
  ['check', 'the invariants, the rule invariants and the cost account: what judges and counts a run'],
  ['heap-analysis', 'reading heap snapshots with memlab, the growth rule, the committed baselines'],
  ['targets', 'built-in targets, adapters and their guard, claude-mem checkouts'],
  ['traffic-file', 'the recorded-traffic file format'],
  ['runs', 'the driver, scenarios, a run, expectations, isolated and parallel runs, replay'],
  ['report', 'report folders, summaries, series, report.html, merging shards'],
  ['heap', 'the heap gate: probes in child processes, judging them, its report'],
  ['tune', 'leaksim tune: the grid, its worker pool, its reports'],
  ['history', 'leaksim history: releases of a claude-mem clone, their timeline, bisect, the run cache'],
  ['import', 'Claude Code transcripts to traffic files'],
  ['record', 'the recording proxy'],
  ['cli', 'the command line'],
];

const stagePath = (name) => `^sim/${name}/`;

const layerRules = STAGES.map(([name], index) => {
  const above = STAGES.slice(index + 1).map(([later]) => later);
  return above.length === 0
    ? null
    : {
        name: `${name}-imports-down`,
        comment: `sim/${name}/ may import only the stages below it (${STAGES.slice(0, index).map(([below]) => below).join(', ') || 'none'}) and src/`,
        severity: 'error',
        from: { path: stagePath(name) },
        to: { path: `^sim/(${above.join('|')})/` },
      };
}).filter(Boolean);

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'no module reaches itself through its imports',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'src-stands-alone',
      comment: 'the reference and the baseline are what users copy: they import nothing from the simulator',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/index\\.ts$' },
      to: { path: '^(sim|bench|test|examples)/' },
    },
    {
      name: 'sim-top-holds-folders',
      comment: 'the top of sim/ holds only stage folders',
      severity: 'error',
      from: { path: '^sim/[^/]+\\.[a-z]+$' },
      to: {},
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|reports)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.mts', '.mjs', '.js'] },
    reporterOptions: {
      dot: {
        collapsePattern: '^(sim/[^/]+|src|node_modules/[^/]+)',
      },
    },
  },

};
