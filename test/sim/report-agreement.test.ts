/**
 * Reports agree with the terminal: the same ✓/✗ and the same "as expected" words in the printed
 * lines, summary.md, summary.json and junit.xml, for `run` (judged by the invariants) and `check`
 * (judged by the expectation), and report.html's header. And check's "got" column leads with the
 * invariant it expected.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRootOf } from '../../sim/runs/run.ts';
import { main } from '../../sim/cli/main.ts';
import { collectOutput } from '../../sim/cli/output.ts';
import { heapJunitXml } from '../../sim/heap/report.ts';
import type { HeapReport } from '../../sim/heap/gate.ts';

const ROOT = resolve(import.meta.dirname, '../..');

/** One marathon session: the baseline breaks history-within-bound early and drains-when-quiet at the end. */
function marathon(expectBaseline: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'leaksim-agree-'));
  const file = join(dir, 'marathon-mini.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 'marathon-mini',
      days: 1,
      seeds: [3],
      traffic: { developers: 1, sessionsPerDay: 1, promptsPerSession: 10, toolUsesPerPrompt: 20 },
      expect: { reference: 'pass', baseline: expectBaseline },
    }),
  );
  return file;
}

function reports(dir: string) {
  return {
    markdown: readFileSync(join(dir, 'summary.md'), 'utf8'),
    json: JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')),
    junit: readFileSync(join(dir, 'junit.xml'), 'utf8'),
  };
}

describe('reports agree with the terminal', () => {
  it('run: a violation the scenario expects is ✗ (as expected) everywhere, exit 1', async () => {
    const file = marathon({ failsOn: ['history-within-bound'] });
    const out = join(file, '..', 'run');
    const output = collectOutput();
    expect(await main(['run', file, '--target', 'baseline', '--out', out], output)).toBe(1);
    expect(output.stdout[0]).toMatch(/^✗ marathon-mini · baseline · seed 3: history-within-bound at day 0 .* \(as expected\)$/);
    const { markdown, json, junit } = reports(out);
    expect(markdown).toMatch(/^# leaksim run: ✗ 1 run of 1 failed/);
    expect(markdown).toMatch(/\| ❌ \| marathon-mini \| baseline \| 3 \| fails on history-within-bound \| history-within-bound at day 0 .* \(as expected\) \|/);
    expect(json).toMatchObject({ result: 'fail', judgedBy: 'invariants', runs: [{ passed: false, verdict: 'fail', asExpected: true }] });
    expect(junit).toMatch(/<failure message="got history-within-bound at day 0 .* \(as expected\)">/);
    // report.html: summary.md's headline and the terminal's line, word for word.
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('✗ 1 run of 1 failed');
    expect(html).toContain(output.stdout[0]);
    expect(html).not.toMatch(/not as expected/i);
  });

  it('run: a pass the scenario expects is ✓ (as expected) everywhere, exit 0', async () => {
    const file = marathon({ failsOn: ['history-within-bound'] });
    const out = join(file, '..', 'run');
    const output = collectOutput();
    expect(await main(['run', file, '--target', 'reference', '--out', out], output)).toBe(0);
    expect(output.stdout[0]).toBe('✓ marathon-mini · reference · seed 3: pass (as expected)');
    const { markdown, json, junit } = reports(out);
    expect(markdown).toMatch(/^# leaksim run: ✓ no invariant violated/);
    expect(markdown).toContain('| ✅ | marathon-mini | reference | 3 | pass | pass (as expected) |');
    expect(json).toMatchObject({ result: 'pass', runs: [{ passed: true, asExpected: true }] });
    expect(junit).not.toContain('<failure');
  });

  it('default run folders never collide across targets', async () => {
    const file = marathon('pass');
    const first = collectOutput();
    const second = collectOutput();
    await main(['run', file, '--target', 'reference'], first);
    await main(['run', file, '--target', 'flaw:no-idle-cleanup'], second);
    expect(first.stdout.at(-1)).toMatch(/^reports: reports\/run-marathon-mini-reference\/summary\.md/);
    expect(second.stdout.at(-1)).toMatch(/^reports: reports\/run-marathon-mini-flaw-no-idle-cleanup\/summary\.md/);
  });

  it("check: the got column leads with the expected invariant's first violation, the first overall beside it", async () => {
    const file = marathon({ failsOn: ['drains-when-quiet'] });
    const out = join(file, '..', 'check');
    const output = collectOutput();
    // A subset of the gate (a file given) that targets no flaw: every run is ✓, so exit 0.
    expect(await main(['check', file, '--out', out], output)).toBe(0);
    const line = output.stdout.find((candidate) => candidate.includes('· baseline ·'))!;
    expect(line).toMatch(/^✓ marathon-mini · baseline · seed 3: drains-when-quiet at day \d .* \(first violation overall: history-within-bound at day 0 .*\) \(as expected\)$/);
    const { markdown, json } = reports(out);
    expect(markdown).toMatch(/\| ✅ \| marathon-mini \| baseline \| 3 \| fails on drains-when-quiet \| drains-when-quiet at .*first violation overall: history-within-bound.* \(as expected\) \|/);
    const baseline = json.runs.find((run: { target: string }) => run.target === 'baseline');
    expect(baseline).toMatchObject({ passed: true, asExpected: true, firstViolation: { invariant: 'history-within-bound' }, expectedViolations: [{ invariant: 'drains-when-quiet' }] });
  });

  it('reproduce lines carry every flag that shaped the run, with paths that work from the repository root', async () => {
    const file = marathon({ failsOn: ['history-within-bound'] });
    const settings = join(file, '..', 'settings.json');
    writeFileSync(settings, '{ "CLAUDE_MEM_SESSION_TTL_MINUTES": "30" }');
    const output = collectOutput();
    const cwd = process.cwd();
    process.chdir(join(ROOT, 'docs')); // typed from a subfolder: the line must still work from the root
    try {
      expect(await main(['run', '../scenarios/steady-week.json', '--target', 'baseline', '--seed', '2', '--days', '1', '--settings', settings, '--keep-going', '--out', join(file, '..', 'r')], output)).toBe(1);
    } finally {
      process.chdir(cwd);
    }
    expect(output.stdout).toContain(`    reproduce: npx leaksim run scenarios/steady-week.json --target baseline --seed 2 --days 1 --settings ${settings} --keep-going`);
  });

  it('reproduce lines of an installed leaksim start from the project that installed it', () => {
    expect(projectRootOf('/home/me/app/node_modules/leaksim')).toBe('/home/me/app');
    expect(projectRootOf('/home/me/app/node_modules/@scope/x/node_modules/leaksim')).toBe('/home/me/app');
    expect(projectRootOf('/work/leaksim')).toBe('/work/leaksim');
  });

  it('check --heap writes junit.xml with the same ✓/✗ as its lines', () => {
    const report = {
      runs: [
        { scenario: 'heap-x', target: 'reference', seed: 1, expected: 'pass', verdict: 'pass', asExpected: true, reproduce: 'r1' },
        { scenario: 'heap-x', target: 'baseline', seed: 1, expected: 'fail', verdict: 'pass', asExpected: false, reproduce: 'r2', judgement: { findings: [] } },
      ],
      baselineChecks: [{ scenario: 'heap-x', measure: 'bytesPerSession', passed: false, detail: '+30% above the committed 1000 B' }],
    } as unknown as HeapReport;
    const junit = heapJunitXml(report);
    expect(junit).toContain('<testsuites name="leaksim check --heap" tests="3" failures="2">');
    expect(junit).toContain('<failure message="got heap pass">reproduce: r2</failure>');
    expect(junit).toContain('<failure message="+30% above the committed 1000 B"/>');
  });
});
