/**
 * The heap gates end to end, as CI runs them: `leaksim check --heap` over the shipped heap
 * scenarios, every probe a child process with --expose-gc whose snapshots memlab reads. One run
 * of the gate (about a minute on two cores) feeds every test below.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../sim/cli/main.ts';
import { collectOutput } from '../../sim/cli/output.ts';
import { compareBaselines, readBaselines, type ScenarioBaseline } from '../../sim/heap-analysis/baselines.ts';
import { runProbe } from '../../sim/heap/gate.ts';

const OUT = join(mkdtempSync(join(tmpdir(), 'leaksim-heap-')), 'report');

interface RunJson {
  scenario: string;
  target: string;
  seed: number;
  expected: string;
  verdict: string;
  asExpected: boolean;
  findings: { rule: string; detail: string }[];
  invariants: { verdict: string; violated: string[] };
  checkpoints: { sessionObjects: number; snapshotBytes: number }[];
  grownKinds: { kind: string; firstCount: number; lastCount: number; firstBytes: number; lastBytes: number }[];
  retainerPath: { object: string; outsideManagerMaps: boolean; heldThrough: string; text: string } | null;
}

let code: number;
let stdout: string;
let summary: { result: string; runs: RunJson[]; baselines: { measured: Record<string, ScenarioBaseline>; checks: { passed: boolean }[] } };
let markdown: string;

function run(scenario: string, target: string, seed = 1): RunJson {
  const found = summary.runs.find((candidate) => candidate.scenario === scenario && candidate.target === target && candidate.seed === seed);
  if (!found) throw new Error(`no heap run ${scenario} ${target} seed ${seed}`);
  return found;
}

beforeAll(async () => {
  const output = collectOutput();
  code = await main(['check', '--heap', '--out', OUT], output);
  stdout = output.stdout.join('\n');
  summary = JSON.parse(readFileSync(join(OUT, 'summary.json'), 'utf8'));
  markdown = readFileSync(join(OUT, 'summary.md'), 'utf8');
});

describe('leaksim check --heap', () => {
  it('passes: every heap verdict as expected and the reference within its committed baselines', () => {
    expect(stdout).not.toMatch(/NOT as expected/);
    expect(summary.result).toBe('pass');
    expect(summary.baselines.checks.length).toBeGreaterThan(0);
    expect(summary.baselines.checks.every((check) => check.passed)).toBe(true);
    expect(code).toBe(0);
    // junit.xml agrees: one test case per run and per baseline comparison, none failing.
    const junit = readFileSync(join(OUT, 'junit.xml'), 'utf8');
    expect(junit).toContain(`<testsuites name="leaksim check --heap" tests="${summary.runs.length + summary.baselines.checks.length}" failures="0">`);
    expect(junit).not.toContain('<failure');
  });

  it('fails the 8.5.7 baseline, naming what grew and the path that holds a session', () => {
    const baseline = run('heap-idle-sessions', 'baseline');
    expect(baseline.verdict).toBe('fail');
    expect(baseline.findings.map((finding) => finding.rule)).toEqual(expect.arrayContaining(['heap-sessions-within-cap', 'heap-history-within-bound', 'heap-no-growth']));
    const kinds = baseline.grownKinds.map((kind) => kind.kind);
    expect(kinds).toContain('LeakySession');
    expect(kinds).toContain('ConversationMessage {role, content}');
    const sessions = baseline.grownKinds.find((kind) => kind.kind === 'LeakySession')!;
    expect(sessions.lastCount).toBeGreaterThan(sessions.firstCount + 20);
    // memlab's path, GC root first, ending at the session object held since the first judged checkpoint.
    expect(baseline.retainerPath?.text.split('\n')[0]).toMatch(/GC roots|synthetic/);
    expect(baseline.retainerPath?.text).toMatch(/LeakySessionManager[\s\S]*#sessions[\s\S]*\[LeakySession\] \(object\)/);
    // Described from what the path passes through.
    expect(baseline.retainerPath?.heldThrough).toBe('a Map (LeakySessionManager.#sessions)');
    expect(stdout).toMatch(/retainer path of LeakySession @\d+ \(in memory since .*, held through a Map \(LeakySessionManager\.#sessions\)\)/);
    expect(markdown).toContain('### heap-idle-sessions · baseline · seed 1 (expected)');
    expect(markdown).toMatch(/\| LeakySession \| \d+ → \d+ \(\+\d+\) \|/);
  });

  it('passes the reference, a clean control on every seed (no false alarm), and the clean twin', () => {
    for (const seed of [1, 2, 3]) {
      const clean = run('heap-idle-sessions', 'reference', seed);
      expect(clean.verdict, `seed ${seed}: ${clean.findings.map((finding) => finding.detail).join('; ')}`).toBe('pass');
      // At the cap every midnight: the bounds are met with sessions in memory, not trivially.
      expect(clean.checkpoints.slice(1).every((checkpoint) => checkpoint.sessionObjects === 10)).toBe(true);
    }
    expect(run('heap-deleted-sessions', 'reference').verdict).toBe('pass');
    expect(run('heap-deleted-sessions', 'twin').verdict).toBe('pass');
  });

  it('catches a listener leak the manager cannot see: its own count stays within the cap', () => {
    const listener = run('heap-deleted-sessions', 'flaw:listener-kept-on-delete');
    // The manager's map lets deleted sessions go: no sessions-within-cap violation, only the listener count.
    expect(listener.invariants.violated).toContain('listeners-bounded');
    expect(listener.invariants.violated).not.toContain('sessions-within-cap');
    expect(listener.verdict).toBe('fail');
    expect(listener.findings.map((finding) => finding.rule)).toEqual(expect.arrayContaining(['heap-sessions-within-cap', 'heap-no-growth']));
    expect(listener.retainerPath?.outsideManagerMaps).toBe(true);
    expect(listener.retainerPath?.heldThrough).toBe('a closure (anonymous) in a listener (Listener)');
    expect(listener.retainerPath?.text).toMatch(/#lifetime[\s\S]*Listener[\s\S]*listener \(property\)[\s\S]*\[LeakySession\]/);
  });

  it('catches a cleanup timer left armed after delete, through the timer that holds the session', () => {
    const timer = run('heap-deleted-sessions', 'flaw:timer-kept-on-delete');
    expect(timer.invariants.violated).not.toContain('sessions-within-cap');
    expect(timer.verdict).toBe('fail');
    expect(timer.findings.map((finding) => finding.rule)).toContain('heap-sessions-within-cap');
    expect(timer.retainerPath?.outsideManagerMaps).toBe(true);
    expect(timer.retainerPath?.text).toMatch(/timers[\s\S]*\[LeakySession\]/);
  });

  it('keeps snapshots small: bounded by the scenario, not the process', () => {
    const sizes = summary.runs.flatMap((candidate) => candidate.checkpoints.map((checkpoint) => checkpoint.snapshotBytes));
    expect(Math.max(...sizes)).toBeLessThan(32 * 1024 * 1024);
  });

  it('fails a reference that regressed beyond the committed margin', () => {
    const measured = summary.baselines.measured;
    expect(compareBaselines(measured, readBaselines('reports/baselines/heap.json'), 'heap.json').every((check) => check.passed)).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'leaksim-heap-baseline-'));
    const file = join(dir, 'heap.json');
    // A committed value 40% below what the reference retains now: as if each session had grown by 2/3.
    const tampered = Object.fromEntries(Object.entries(measured).map(([name, entry]) => [name, { ...entry, bytesPerSession: Math.round(entry.bytesPerSession * 0.6) }]));
    writeFileSync(file, JSON.stringify({ leaksimHeapBaselines: 1, marginPercent: 25, scenarios: tampered }));
    const checks = compareBaselines(measured, readBaselines(file), file);
    const failed = checks.filter((check) => !check.passed);
    expect(failed.map((check) => check.measure)).toEqual(['bytesPerSession']);
    expect(failed[0]!.detail).toMatch(/\+66\.\d%, margin 25%\): the reference regressed/);
  });
});

describe('the heap probe', () => {
  it('runs in a process with gc exposed, and refuses to run without it', async () => {
    expect(typeof globalThis.gc).toBe('function');
    const dir = mkdtempSync(join(tmpdir(), 'leaksim-probe-'));
    const request = { scenarioFile: 'scenarios/heap-idle-sessions.json', target: 'reference', seed: 1, snapshotDir: dir, resultFile: join(dir, 'result.json'), keepSnapshots: false };
    await expect(runProbe(request, [])).rejects.toThrow(/exited with code 3: heap probe: gc is not exposed; start node with --expose-gc/);
  });

  it('states the cause of a probe that failed in one line, never its stack frames', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leaksim-probe-'));
    // An adapter that declares no description.heap: the probe cannot tell its objects apart.
    const request = { scenarioFile: 'scenarios/heap-idle-sessions.json', target: 'test/fixtures/adapters/broken.ts', seed: 1, snapshotDir: dir, resultFile: join(dir, 'result.json'), keepSnapshots: false };
    const failure = await runProbe(request).then(
      () => undefined,
      (error: Error) => error.message,
    );
    expect(failure).toMatch(/^heap probe test\/fixtures\/adapters\/broken\.ts seed 1: test\/fixtures\/adapters\/broken\.ts declares no description\.heap/);
    expect(failure).not.toMatch(/\n|\s+at |\.ts:\d+:\d+/);
  }, 60_000);
});
