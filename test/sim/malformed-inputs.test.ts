/**
 * The malformed-input catalogue: every way a user can hand leaksim a bad scenario, settings file,
 * traffic file, command-line option, adapter or report destination. Each case must end with exit
 * code 2, exactly one line on stderr that names the file (or flag) and the field, no stack trace,
 * and nothing changed or left behind: the case's folder is snapshotted (every file's path and
 * bytes) before and after, and so is the repository's reports/ folder.
 *
 * Budget: every case runs against a one-day, one-developer scenario (at most a few hundred
 * simulated hook events) or fails before simulating at all, and must finish within CASE_BUDGET_MS
 * of wall time (the test's timeout: generous, it catches a hang, not slowness). The adapter that
 * loops forever runs under a 1-second watchdog (LEAKSIM_WATCHDOG_SECONDS).
 *
 * Most cases call main() directly (fast); a representative subset runs bin/leaksim.js as a real
 * child process, where a stack trace or a crash would show as it does for a user.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { checkReportFolder, lockReportFolder, releaseReportLocks } from '../../sim/report/report-folder.ts';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../sim/cli/main.ts';
import { collectOutput } from '../../sim/cli/output.ts';

const CASE_BUDGET_MS = 60_000;
const ROOT = resolve(import.meta.dirname, '../..');
const BROKEN_ADAPTER = join(ROOT, 'test/fixtures/adapters/broken.ts');

/** A valid one-day scenario: every scenario case breaks one thing in it. */
const SCENARIO = {
  name: 'tiny',
  days: 1,
  seeds: [1],
  traffic: { developers: 1, sessionsPerDay: 2, promptsPerSession: 2, toolUsesPerPrompt: 2 },
  worker: { sessionEndRoute: 'complete' },
  expect: { reference: 'pass' },
};
const HEADER = '{"format":"leaksim-traffic","version":1,"source":"generate","timeOrigin":"2026-01-05T09:00:00.000Z","redaction":"hash"}';
const START = '{"atMs":0,"kind":"session-start","session":"s-1","project":"demo","source":"startup"}';
const PROMPT = '{"atMs":1200,"kind":"prompt","session":"s-1","project":"demo","promptChars":21}';
const TRANSCRIPT_NOT = '{"hello":"world"}\n{"also":"not a transcript"}\n';

interface Case {
  readonly name: string;
  /** Files to create in the case's folder (relative path → text or bytes). */
  readonly files?: Readonly<Record<string, string | Buffer>>;
  /** Arguments; `@/x` is x inside the case's folder. */
  readonly args: readonly string[];
  /** Each must appear in the one stderr line (the file or flag, and the field). */
  readonly mentions: readonly (string | RegExp)[];
  readonly env?: Readonly<Record<string, string>>;
  /** Set up beyond files (symlinks, folders). */
  readonly setup?: (dir: string) => void;
  /**
   * 2 (default): bad input, one line on stderr. 1: a verdict (a target fault once the run has
   * started): nothing on stderr, one ✗ line on stdout matching `mentions`, and a report folder at
   * @/out, the only thing in the case's folder that changed.
   */
  readonly code?: 1 | 2;
}

const scenario = (change: Record<string, unknown>) => JSON.stringify({ ...SCENARIO, ...change }, null, 2);
const traffic = (...lines: string[]) => `${[HEADER, ...lines].join('\n')}\n`;
const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const run = (...rest: string[]) => ['run', '@/s.json', '--out', '@/out', ...rest];
const replay = (...rest: string[]) => ['replay', '@/t.jsonl', '--out', '@/out', ...rest];
const withScenario = { 's.json': scenario({}) };
const withTraffic = { 't.jsonl': traffic(START, PROMPT) };

const SCENARIO_CASES: Case[] = [
  { name: 'scenario: missing file', args: ['run', '@/nope.json', '--out', '@/out'], mentions: ['nope.json', 'cannot be read (ENOENT)'] },
  { name: 'scenario: a folder', setup: (dir) => mkdirSync(join(dir, 'd.json')), args: ['run', '@/d.json', '--out', '@/out'], mentions: ['d.json', 'is a folder'] },
  { name: 'scenario: a device that never ends', args: ['run', '/dev/zero', '--out', '@/out'], mentions: ['/dev/zero', 'not a regular file'] },
  { name: 'scenario: empty file', files: { 's.json': '' }, args: run(), mentions: ['s.json:1', 'is not valid JSON'] },
  { name: 'scenario: syntax error points at line and column', files: { 's.json': '{\n  "name": "x",\n  "days": 1,,\n}' }, args: run(), mentions: ['s.json:3', 'column 13', 'PropertyNameExpected'] },
  { name: 'scenario: trailing comma', files: { 's.json': '{ "name": "x", "traffic": {}, }' }, args: run(), mentions: ['s.json:1', 'not valid JSON'] },
  { name: 'scenario: a comment', files: { 's.json': '// mine\n{ "name": "x", "traffic": {} }' }, args: run(), mentions: ['s.json:1', 'InvalidCommentToken'] },
  { name: 'scenario: top level is an array', files: { 's.json': '[1, 2]' }, args: run(), mentions: ['s.json:1', '(top level)'] },
  { name: 'scenario: unknown field', files: { 's.json': scenario({ dayz: 3 }) }, args: run(), mentions: ['s.json', 'dayz', 'is not a known field'] },
  { name: 'scenario: name missing', files: { 's.json': scenario({ name: undefined }) }, args: run(), mentions: ['s.json', 'name is required'] },
  { name: 'scenario: traffic missing', files: { 's.json': scenario({ traffic: undefined }) }, args: run(), mentions: ['s.json', 'traffic is required'] },
  { name: 'scenario: name with spaces', files: { 's.json': scenario({ name: 'My Team' }) }, args: run(), mentions: ['s.json:2', 'name', 'must match pattern'] },
  { name: 'scenario: days 0', files: { 's.json': scenario({ days: 0 }) }, args: run(), mentions: ['s.json:3', 'days', '>= 1'] },
  { name: 'scenario: days past the ceiling', files: { 's.json': scenario({ days: 400 }) }, args: run(), mentions: ['s.json:3', 'days', '<= 366'] },
  { name: 'scenario: days as text', files: { 's.json': scenario({ days: '7' }) }, args: run(), mentions: ['s.json:3', 'days', 'must be integer'] },
  { name: 'scenario: no seeds', files: { 's.json': scenario({ seeds: [] }) }, args: run(), mentions: ['s.json:4', 'seeds', 'fewer than 1'] },
  { name: 'scenario: negative seed', files: { 's.json': scenario({ seeds: [-1] }) }, args: run(), mentions: ['s.json', 'seeds.0', '>= 0'] },
  { name: 'scenario: no developers', files: { 's.json': scenario({ traffic: { developers: 0 } }) }, args: run(), mentions: ['s.json', 'traffic.developers', '>= 1'] },
  { name: 'scenario: unknown traffic field', files: { 's.json': scenario({ traffic: { ...SCENARIO.traffic, developer: 2 } }) }, args: run(), mentions: ['s.json', 'traffic.developer', 'not a known field'] },
  { name: 'scenario: prompt of 0 characters', files: { 's.json': scenario({ traffic: { ...SCENARIO.traffic, promptChars: 0 } }) }, args: run(), mentions: ['s.json', 'traffic.promptChars', '>= 1'] },
  { name: 'scenario: a team past MAX_HOOK_EVENTS', files: { 's.json': scenario({ days: 366, traffic: { developers: 10_000, toolUsesPerPrompt: 100 } }) }, args: run(), mentions: ['s.json:7', 'traffic makes up to', 'MAX_HOOK_EVENTS'] },
  { name: 'scenario: misspelt verdict', files: { 's.json': scenario({ expect: { reference: 'passes' } }) }, args: run(), mentions: ['s.json', 'expect.reference', '"passes"'] },
  { name: 'scenario: unknown invariant', files: { 's.json': scenario({ expect: { reference: { failsOn: ['no-leaks'] } } }) }, args: run(), mentions: ['s.json', 'expect.reference.failsOn.0', '"no-leaks"'] },
  { name: 'scenario: unknown flaw', files: { 's.json': scenario({ expect: { flaws: { 'no-cap': 'pass' } } }) }, args: run(), mentions: ['s.json', 'expect.flaws.no-cap'] },
  { name: 'scenario: fault after the last day', files: { 's.json': scenario({ faults: { workerRestarts: [{ day: 1, hour: 3 }] } }) }, args: run(), mentions: ['s.json', 'faults.workerRestarts.0.day', 'below days'] },
  { name: 'scenario: negative TTL', files: { 's.json': scenario({ settings: { ttlMinutes: -1 } }) }, args: run(), mentions: ['s.json', 'settings.ttlMinutes'] },
  { name: 'scenario: nested 100 000 deep', files: { 's.json': `{"name": "x", "traffic": ${deep(100_000)}}` }, args: run(), mentions: ['s.json:1', 'MAX_JSON_DEPTH'] },
  { name: 'scenario: larger than MAX_JSON_FILE_BYTES', files: { 's.json': `{"name": "x", "description": "${'x'.repeat(5 * 1024 * 1024)}", "traffic": {}}` }, args: run(), mentions: ['s.json', 'MAX_JSON_FILE_BYTES'] },
];

const SETTINGS_CASES: Case[] = [
  { name: 'settings: missing file', files: withScenario, args: run('--settings', '@/nope.json'), mentions: ['nope.json', 'cannot be read'] },
  { name: 'settings: syntax error at its real line and column', files: { ...withScenario, 'settings.json': '{\n  "CLAUDE_MEM_MODEL": "x",\n  "CLAUDE_MEM_SESSION_TTL_MINUTES": 30\n  "CLAUDE_MEM_PORT": "1"\n}' }, args: run('--settings', '@/settings.json'), mentions: ['settings.json:4', 'column 3', 'CommaExpected'] },
  { name: 'settings: a device that never ends', files: withScenario, args: run('--settings', '/dev/zero'), mentions: ['/dev/zero', 'not a regular file'] },
  { name: 'settings: with a byte-order mark and a bad value', files: { ...withScenario, 'settings.json': '\ufeff{\n"CLAUDE_MEM_SESSION_TTL_MINUTES": "0"\n}' }, args: run('--settings', '@/settings.json'), mentions: ['settings.json:2', 'CLAUDE_MEM_SESSION_TTL_MINUTES'] },
  { name: 'settings: a duplicate key points at the second one', files: { ...withScenario, 'settings.json': '{\n  "CLAUDE_MEM_SESSION_TTL_MINUTES": "30",\n  "CLAUDE_MEM_SESSION_TTL_MINUTES": "0.5"\n}' }, args: run('--settings', '@/settings.json'), mentions: ['settings.json:3', 'CLAUDE_MEM_SESSION_TTL_MINUTES is given twice (first on line 2, again here as "0.5")'] },
  { name: 'expect: a duplicate key points at the second one', files: { ...withScenario, 'e.json': '{\n  "tiny": "pass",\n  "tiny": "pass"\n}' }, args: ['check', '@/s.json', '--target', 'examples/adapter.ts', '--expect', '@/e.json', '--out', '@/out'], mentions: ['e.json:3', 'tiny is given twice (first on line 2'] },
  { name: 'baselines: a duplicate key points at the second one', files: { 's.json': scenario({ days: 3, heap: { checkpointEveryHours: 6, expect: { reference: 'pass' } } }), 'b.json': '{\n  "leaksimHeapBaselines": 1,\n  "leaksimHeapBaselines": 2\n}' }, args: ['check', '@/s.json', '--heap', '--baselines', '@/b.json', '--out', '@/out'], mentions: ['b.json:3', 'leaksimHeapBaselines is given twice'] },
  { name: 'settings: an array', files: { ...withScenario, 'settings.json': '[]' }, args: run('--settings', '@/settings.json'), mentions: ['settings.json:1', 'must be a JSON object'] },
  { name: 'settings: TTL not a number', files: { ...withScenario, 'settings.json': '{\n"CLAUDE_MEM_SESSION_TTL_MINUTES": "abc"\n}' }, args: run('--settings', '@/settings.json'), mentions: ['settings.json:2', 'CLAUDE_MEM_SESSION_TTL_MINUTES', '"abc"'] },
  { name: 'settings: cap 0', files: { ...withScenario, 'settings.json': '{"CLAUDE_MEM_MAX_ACTIVE_SESSIONS": "0"}' }, args: run('--settings', '@/settings.json'), mentions: ['settings.json:1', 'CLAUDE_MEM_MAX_ACTIVE_SESSIONS'] },
  { name: 'settings: history of 2', files: { ...withScenario, 'settings.json': '{"CLAUDE_MEM_MAX_CONVERSATION_HISTORY": 2}' }, args: run('--settings', '@/settings.json'), mentions: ['settings.json:1', 'CLAUDE_MEM_MAX_CONVERSATION_HISTORY', 'from 3'] },
  { name: 'settings: tokens past the bound', files: { ...withScenario, 'settings.json': '{"CLAUDE_MEM_MAX_HISTORY_TOKENS": "99999999999"}' }, args: run('--settings', '@/settings.json'), mentions: ['settings.json:1', 'CLAUDE_MEM_MAX_HISTORY_TOKENS'] },
  { name: 'settings: nested 100 000 deep', files: { ...withScenario, 'settings.json': `{"CLAUDE_MEM_X": ${deep(100_000)}}` }, args: run('--settings', '@/settings.json'), mentions: ['settings.json:1', 'MAX_JSON_DEPTH'] },
  { name: 'settings: replay with a bad settings file', files: { ...withTraffic, 'settings.json': '{"CLAUDE_MEM_SESSION_TTL_MINUTES": "0"}' }, args: replay('--settings', '@/settings.json'), mentions: ['settings.json:1', 'CLAUDE_MEM_SESSION_TTL_MINUTES'] },
];

const TRAFFIC_CASES: Case[] = [
  { name: 'traffic: missing file', args: ['replay', '@/nope.jsonl', '--out', '@/out'], mentions: ['nope.jsonl', 'cannot be read (ENOENT)'] },
  { name: 'traffic: a folder', setup: (dir) => mkdirSync(join(dir, 't.jsonl')), args: replay(), mentions: ['t.jsonl', 'is a folder'] },
  { name: 'traffic: a device that never ends', args: ['replay', '/dev/zero', '--out', '@/out'], mentions: ['/dev/zero', 'not a regular file (a device)'] },
  { name: 'traffic: empty file', files: { 't.jsonl': '' }, args: replay(), mentions: ['t.jsonl:1', 'is empty'] },
  { name: 'traffic: not a leaksim file', files: { 't.jsonl': '{"format":"other"}\n' }, args: replay(), mentions: ['t.jsonl:1', 'format', '"other"'] },
  { name: 'traffic: newer version', files: { 't.jsonl': `${HEADER.replace('"version":1', '"version":2')}\n` }, args: replay(), mentions: ['t.jsonl:1', 'version', 'newer'] },
  { name: 'traffic: truncated last line', files: { 't.jsonl': `${HEADER}\n${START}` }, args: replay(), mentions: ['t.jsonl:2', 'truncated'] },
  { name: 'traffic: unknown kind', files: { 't.jsonl': traffic(START.replace('session-start', 'tool_use')) }, args: replay(), mentions: ['t.jsonl:2', 'kind', '"tool_use"'] },
  { name: 'traffic: time going backwards', files: { 't.jsonl': traffic(PROMPT, START.replace('"atMs":0', '"atMs":5')) }, args: replay(), mentions: ['t.jsonl:3', 'atMs', 'backwards'] },
  { name: 'traffic: atMs past a year', files: { 't.jsonl': traffic(START.replace('"atMs":0', '"atMs":1000000000000000')) }, args: replay(), mentions: ['t.jsonl:2', 'atMs', 'MAX_TRAFFIC_SPAN_MS'] },
  { name: 'traffic: a 10^12-character prompt', files: { 't.jsonl': traffic(START, PROMPT.replace('"promptChars":21', '"promptChars":1000000000000')) }, args: replay(), mentions: ['t.jsonl:3', 'promptChars', 'MAX_EVENT_CHARS'] },
  { name: 'traffic: a huge tool response', files: { 't.jsonl': traffic(START, '{"atMs":5,"kind":"tool-use","session":"s-1","project":"demo","toolName":"Read","inputChars":1,"responseChars":20000000}') }, args: replay(), mentions: ['t.jsonl:3', 'responseChars', 'MAX_EVENT_CHARS'] },
  { name: 'traffic: negative sleep', files: { 't.jsonl': traffic('{"atMs":0,"kind":"sleep","durationMs":-5}') }, args: replay(), mentions: ['t.jsonl:2', 'durationMs'] },
  { name: 'traffic: unknown field', files: { 't.jsonl': traffic(START.replace('"source":"startup"', '"source":"startup","colour":"red"')) }, args: replay(), mentions: ['t.jsonl:2', 'colour', 'not a field'] },
  { name: 'traffic: text in a hash file', files: { 't.jsonl': traffic(START, PROMPT.replace('"promptChars":21', '"promptChars":2,"text":"hi"')) }, args: replay(), mentions: ['t.jsonl:3', 'text', 'redaction "hash"'] },
  { name: 'traffic: a hash that is not a hash', files: { 't.jsonl': traffic(START, PROMPT.replace('"promptChars":21', '"promptChars":21,"hash":"b0c20ea0"')) }, args: replay(), mentions: ['t.jsonl:3', 'hash', '64 lowercase hex'] },
  { name: 'traffic: blank line', files: { 't.jsonl': traffic(START, '', PROMPT) }, args: replay(), mentions: ['t.jsonl:3', 'blank lines'] },
  { name: 'traffic: invalid UTF-8', files: { 't.jsonl': Buffer.concat([Buffer.from(`${HEADER}\n`), Buffer.from([0xff, 0xfe, 0x0a])]) }, args: replay(), mentions: ['t.jsonl:2', 'not valid UTF-8'] },
  { name: 'traffic: a session id of 2 000 characters', files: { 't.jsonl': traffic(START.replace('"s-1"', `"${'s'.repeat(2_000)}"`)) }, args: replay(), mentions: ['t.jsonl:2', 'session', 'MAX_NAME_CHARS'] },
  { name: 'traffic: a field nested 100 000 deep', files: { 't.jsonl': traffic(`{"atMs":0,"kind":${deep(100_000)}}`) }, args: replay(), mentions: ['t.jsonl:2', 'kind', 'an array'] },
  { name: 'traffic: a line that is not JSON', files: { 't.jsonl': traffic(START, '{"atMs":1200,') }, args: replay(), mentions: ['t.jsonl:3', 'not valid JSON'] },
  { name: 'traffic: --repeat × --rate past a year', files: withTraffic, args: replay('--repeat', '10000', '--rate', '0.01'), mentions: ['leaksim replay', '--repeat', 'MAX_SIMULATED_DAYS'] },
  { name: 'traffic: --rate 0', files: withTraffic, args: replay('--rate', '0'), mentions: ['leaksim replay', '--rate', 'above 0'] },
  { name: 'traffic: --repeat 0', files: withTraffic, args: replay('--repeat', '0'), mentions: ['leaksim replay', '--repeat', 'from 1'] },
  { name: 'traffic: --session-end bogus', files: withTraffic, args: replay('--session-end', 'bogus'), mentions: ['leaksim replay', '--session-end', '"bogus"'] },
];

const CLI_CASES: Case[] = [
  { name: 'cli: unknown command', args: ['runn'], mentions: ["unknown command 'runn'"] },
  { name: 'cli: run without a scenario', args: ['run', '--out', '@/out'], mentions: ['leaksim run', 'expected one scenario file, got 0'] },
  { name: 'cli: run with two scenarios', files: withScenario, args: ['run', '@/s.json', '@/s.json', '--out', '@/out'], mentions: ['leaksim run', 'got 2'] },
  { name: 'cli: --seed abc', files: withScenario, args: run('--seed', 'abc'), mentions: ['leaksim run', '--seed', '"abc"'] },
  { name: 'cli: --days -1', files: withScenario, args: run('--days', '-1'), mentions: ['leaksim run', '--days', 'expected a whole number from 1 to 366, got "-1"'] },
  { name: 'cli: --days 400', files: withScenario, args: run('--days', '400'), mentions: ['leaksim run', '--days', '"400"'] },
  { name: 'cli: --days that makes a team too big', files: { 's.json': scenario({ traffic: { developers: 1_000, toolUsesPerPrompt: 100 } }) }, args: run('--days', '366'), mentions: ['leaksim run', '--days', 'MAX_HOOK_EVENTS'] },
  { name: 'cli: unknown target', files: withScenario, args: run('--target', 'nonsense'), mentions: ['--target', "unknown target 'nonsense'"] },
  { name: 'cli: unknown option', files: withScenario, args: run('--colour'), mentions: ['leaksim run', "'--colour'"] },
  { name: 'cli: check --only a missing name', files: withScenario, args: ['check', '@/s.json', '--only', 'nosuch', '--out', '@/out'], mentions: ['leaksim check', '--only', 'nosuch', '(the scenarios: tiny)'] },
  { name: 'cli: check --only a comma-separated list', files: { 's.json': scenario({}), 't.json': scenario({ name: 'other' }) }, args: ['check', '@/s.json', '@/t.json', '--only', 'tiny,other', '--out', '@/out'], mentions: ['leaksim check', '--only', 'repeatable: --only tiny --only other'] },
  { name: 'cli: check --baselines without --heap', files: withScenario, args: ['check', '@/s.json', '--baselines', 'x.json', '--out', '@/out'], mentions: ['leaksim check', '--baselines', 'only applies with --heap'] },
  { name: 'cli: check --heap without heap sections', files: withScenario, args: ['check', '@/s.json', '--heap', '--out', '@/out'], mentions: ['leaksim check --heap', '"heap" section'] },
  { name: 'cli: import without --out', files: { 'x.jsonl': TRANSCRIPT_NOT }, args: ['import', 'claude-code', '@/x.jsonl'], mentions: ['leaksim import', '--out is required'] },
  { name: 'cli: import from an unknown source', args: ['import', 'cursor', '@/x', '--out', '@/o.jsonl'], mentions: ['leaksim import', "'cursor'"] },
  { name: 'cli: import --skip-bad over a file that is no transcript', files: { 'x.jsonl': TRANSCRIPT_NOT }, args: ['import', 'claude-code', '@/x.jsonl', '--skip-bad', '--out', '@/o.jsonl'], mentions: ['leaksim import', 'found no hook events', 'nothing written'] },
  { name: 'cli: record with an argument', args: ['record', 'extra', '--out', '@/r.jsonl'], mentions: ['leaksim record', "'extra'"] },
  { name: 'cli: record listening beyond loopback', args: ['record', '--listen', '0.0.0.0:37778', '--out', '@/r.jsonl'], mentions: ['leaksim record', '--listen', 'loopback only'] },
  { name: 'cli: a bad watchdog setting', files: withScenario, env: { LEAKSIM_WATCHDOG_SECONDS: 'soon' }, args: run('--target', BROKEN_ADAPTER), mentions: ['LEAKSIM_WATCHDOG_SECONDS', '"soon"'] },
];

const broken = (how: string, ...mentions: (string | RegExp)[]): Case => ({
  name: `adapter: ${how}`,
  files: withScenario,
  env: { LEAKSIM_BROKEN: how },
  args: run('--target', BROKEN_ADAPTER),
  mentions: ['leaksim run', 'broken.ts', '(seed 1); reproduce: npx leaksim run', '--target test/fixtures/adapters/broken.ts --seed 1', ...mentions],
});

/** A target fault once the run has started: a verdict under a named invariant, a ✗ row, a report, exit 1. */
const fault = (how: string, invariant: string, ...mentions: (string | RegExp)[]): Case => ({
  name: `fault: ${how}`,
  files: withScenario,
  env: { LEAKSIM_BROKEN: how },
  args: run('--target', BROKEN_ADAPTER),
  code: 1,
  mentions: [/^✗ tiny · \S*broken\.ts · seed 1: /, `${invariant} at day 0 `, '(seed 1)', ...mentions],
});

/** An adapter that cannot be used, decided before any run: one line, exit 2. */
const unusable = (how: string, ...mentions: (string | RegExp)[]): Case => ({
  name: `adapter: ${how}`,
  files: withScenario,
  env: { LEAKSIM_BROKEN: how, LEAKSIM_IMPORT_SECONDS: '3' },
  args: run('--target', BROKEN_ADAPTER),
  mentions: ['broken.ts', ...mentions],
});

const ADAPTER_CASES: Case[] = [
  { name: 'adapter: missing module', files: withScenario, args: run('--target', '@/nope.ts'), mentions: ['--target', 'nope.ts does not exist'] },
  { name: 'adapter: throws at import', files: withScenario, args: run('--target', join(ROOT, 'test/fixtures/adapters/throws-at-import.ts')), mentions: ['throws-at-import.ts', 'throws while it loads', 'configuration file missing'] },
  { name: 'adapter: syntax error', files: withScenario, args: run('--target', join(ROOT, 'test/fixtures/adapters/syntax-error.js')), mentions: ['syntax-error.js:3:', 'has a syntax error'] },
  { name: 'adapter: no createTarget', files: withScenario, args: run('--target', join(ROOT, 'test/fixtures/adapters/no-create-target.ts')), mentions: ['no-create-target.ts', 'createTarget must be exported'] },
  { name: 'adapter: a top-level await that never settles', files: withScenario, args: run('--target', join(ROOT, 'test/fixtures/adapters/never-settles.mjs')), mentions: ['never-settles.mjs', 'ended while it loads', 'top-level await'] },
  { name: 'adapter: check over one that never finishes loading', files: withScenario, env: { LEAKSIM_BROKEN: 'import-loop', LEAKSIM_IMPORT_SECONDS: '2' }, args: ['check', '@/s.json', '--target', BROKEN_ADAPTER, '--out', '@/out'], mentions: ['broken.ts', 'did not finish loading within 2 s'] },
  unusable('import-exit0', 'ended while it loads (exit code 0)', 'process.exit()'),
  unusable('import-loop', 'did not finish loading within 3 s', 'endless loop at import'),
  unusable('import-throws-unprintable', 'throws while it loads', 'cannot be turned into text'),
  { ...unusable('import-exit0 under check', 'ended while it loads (exit code 0)'), env: { LEAKSIM_BROKEN: 'import-exit0' }, args: ['check', '@/s.json', '--target', BROKEN_ADAPTER, '--out', '@/out'] },
  broken('create-throws', 'createTarget threw Error: cannot connect to the database'),
  broken('not-a-target', 'createTarget returned number'),
  { ...broken('a bad watchdog setting'), env: { LEAKSIM_WATCHDOG_SECONDS: '0' }, mentions: ['LEAKSIM_WATCHDOG_SECONDS', '"0"'] },
  { ...broken('a bad import time limit'), env: { LEAKSIM_IMPORT_SECONDS: 'never' }, mentions: ['LEAKSIM_IMPORT_SECONDS', '"never"'] },
];

const FAULT_CASES: Case[] = [
  fault('route-throws', 'target-responds', 'queueObservation({ contentSessionId: "dev01-s0001", … }) threw TypeError: boom'),
  fault('route-rejects', 'target-responds', /completeSession\(\d+\) rejected with Error: complete failed/),
  fault('shutdown-rejects', 'clean-shutdown', 'shutdown() rejected with Error: shutdown failed'),
  fault('shutdown-never-settles', 'clean-shutdown', 'shutdown() never settled'),
  fault('complete-never-settles', 'target-responds', /completeSession\(\d+\) never settled: still pending when the run ended at day 0/),
  fault('view-throws', 'target-responds', 'stats() threw RangeError: stats exploded'),
  fault('shutdown-rejects-unprintable', 'clean-shutdown', 'shutdown() rejected with a non-error value that cannot be turned into text (object without a prototype)'),
  fault('complete-rejects-unprintable', 'target-responds', /completeSession\(\d+\) rejected with a non-error value that cannot be turned into text/),
  fault('route-throws-unprintable', 'target-responds', 'queueObservation({ contentSessionId: "dev01-s0001", … }) threw a non-error value that cannot be turned into text'),
  fault('route-throws-null', 'target-responds', 'threw a non-error value null'),
  fault('exit-during-run', 'target-responds', "the adapter ended the run's thread (exit code 0)"),
  fault('exit1-during-run', 'target-responds', "the adapter ended the run's thread (exit code 1)"),
  fault('restart-storm', 'no-restart-storm', 'runaway timers'),
  { ...fault('endless-loop', 'target-responds', 'queueObservation() did not return within 1 s'), env: { LEAKSIM_BROKEN: 'endless-loop', LEAKSIM_WATCHDOG_SECONDS: '1' } },
  { ...fault('timer-loop', 'target-responds', "the adapter's code outside a route (a timer callback?) did not return within 3 s"), env: { LEAKSIM_BROKEN: 'timer-loop', LEAKSIM_WATCHDOG_SECONDS: '1' } },
];

const DESTINATION_CASES: Case[] = [
  { name: 'out: an existing file', files: { ...withScenario, 'out': 'my notes' }, args: run(), mentions: ['leaksim run', '--out', 'is an existing file'] },
  { name: "out: a folder holding a user's file", files: { ...withScenario, 'out/thesis.tex': 'years of work' }, args: run(), mentions: ['leaksim run', '--out', 'leaksim did not write'] },
  { name: 'out: .', files: withScenario, args: ['run', '@/s.json', '--out', '.'], mentions: ['leaksim run', '--out "."', 'working directory'] },
  { name: 'out: ..', files: withScenario, args: ['run', '@/s.json', '--out', '..'], mentions: ['leaksim run', '--out ".."', 'a folder above it'] },
  { name: 'out: the repository', files: withScenario, args: ['run', '@/s.json', '--out', ROOT], mentions: ['leaksim run', '--out', 'working directory or a folder above it'] },
  { name: 'out: reports/ itself', files: withScenario, args: ['run', '@/s.json', '--out', 'reports'], mentions: ['leaksim run', '--out "reports"', 'the reports folder itself'] },
  { name: 'out: the filesystem root', files: withScenario, args: ['run', '@/s.json', '--out', '/'], mentions: ['leaksim run', '--out "/"'] },
  { name: 'out: under a file', files: { ...withScenario, 'notes.txt': 'x' }, args: run('--out', '@/notes.txt/report'), mentions: ['leaksim run', '--out', 'is a file'] },
  { name: 'out: a symbolic link', files: withScenario, setup: (dir) => symlinkSync(tmpdir(), join(dir, 'link')), args: run('--out', '@/link'), mentions: ['leaksim run', '--out', 'symbolic link'] },
  { name: 'out: empty', files: withScenario, args: run('--out', ''), mentions: ['leaksim run', '--out', 'is empty'] },
  { name: "out: replay into a user's folder", files: { ...withTraffic, 'out/a.txt': 'x' }, args: replay(), mentions: ['leaksim replay', '--out', 'leaksim did not write'] },
  { name: "out: check into a user's folder", files: { ...withScenario, 'out/a.txt': 'x' }, args: ['check', '@/s.json', '--out', '@/out'], mentions: ['leaksim check', '--out', 'leaksim did not write'] },
  { name: "out: check --heap into a user's folder", files: { 's.json': scenario({ days: 3, heap: { checkpointEveryHours: 6, expect: { reference: 'pass' } } }), 'out/a.txt': 'x' }, args: ['check', '@/s.json', '--heap', '--out', '@/out'], mentions: ['leaksim check --heap', '--out', 'leaksim did not write'] },
  { name: 'out: import over a finished file', files: { 'x.jsonl': TRANSCRIPT_NOT, 'o.jsonl': 'mine' }, args: ['import', 'claude-code', '@/x.jsonl', '--out', '@/o.jsonl'], mentions: ['leaksim import', '--out', 'pass --force'] },
  { name: 'out: import into a folder', files: { 'x.jsonl': TRANSCRIPT_NOT, 'o/keep.txt': 'x' }, args: ['import', 'claude-code', '@/x.jsonl', '--force', '--out', '@/o'], mentions: ['leaksim import', '--out', 'is a folder'] },
  { name: 'out: import into a missing folder', files: { 'x.jsonl': TRANSCRIPT_NOT }, args: ['import', 'claude-code', '@/x.jsonl', '--out', '@/no/such/o.jsonl'], mentions: ['leaksim import', '--out', 'does not exist'] },
  { name: 'out: record over a finished recording', files: { 'r.jsonl': 'a recording' }, args: ['record', '--out', '@/r.jsonl', '--listen', '127.0.0.1:0'], mentions: ['leaksim record', '--out', 'pass --force'] },
  { name: 'out: record into a missing folder', args: ['record', '--out', '@/no/r.jsonl', '--listen', '127.0.0.1:0'], mentions: ['leaksim record', '--out', 'does not exist'] },
];

const fifo = (name: string) => (dir: string) => void execFileSync('mkfifo', [join(dir, name)]);
const SIX_YEARS_MS = 6 * 366 * 24 * 3_600_000;

/** Issue 21's cases: bounds that could be bypassed, messages that pointed elsewhere, outputs that could be lost. */
const ISSUE_21_CASES: Case[] = [
  { name: 'bounds: replay a FIFO', setup: fifo('t.jsonl'), args: replay(), mentions: ['t.jsonl', 'not a regular file (a named pipe)'] },
  { name: 'bounds: import a FIFO', setup: fifo('x.jsonl'), args: ['import', 'claude-code', '@/x.jsonl', '--out', '@/o.jsonl'], mentions: ['x.jsonl', 'not a regular file (a named pipe)'] },
  { name: 'bounds: import /dev/zero', args: ['import', 'claude-code', '/dev/zero', '--out', '@/o.jsonl'], mentions: ['/dev/zero', 'not a regular file (a device)'] },
  { name: 'bounds: a scenario that is a FIFO', setup: fifo('s.json'), args: run(), mentions: ['s.json', 'not a regular file (a named pipe)'] },
  { name: 'bounds: settings that are a FIFO', files: withScenario, setup: fifo('settings.json'), args: run('--settings', '@/settings.json'), mentions: ['settings.json', 'not a regular file (a named pipe)'] },
  { name: 'bounds: an expect file that is a FIFO', files: withScenario, setup: fifo('e.json'), args: ['check', '@/s.json', '--target', 'examples/adapter.ts', '--expect', '@/e.json', '--out', '@/out'], mentions: ['e.json', 'not a regular file (a named pipe)'] },
  { name: 'bounds: --baselines a FIFO', files: { 's.json': scenario({ days: 3, heap: { checkpointEveryHours: 6, expect: { reference: 'pass' } } }) }, setup: fifo('b.json'), args: ['check', '@/s.json', '--heap', '--baselines', '@/b.json', '--out', '@/out'], mentions: ['b.json', 'not a regular file (a named pipe)'] },
  { name: 'bounds: --baselines /dev/zero', files: { 's.json': scenario({ days: 3, heap: { checkpointEveryHours: 6, expect: { reference: 'pass' } } }) }, args: ['check', '@/s.json', '--heap', '--baselines', '/dev/zero', '--out', '@/out'], mentions: ['/dev/zero', 'not a regular file (a device)'] },
  { name: 'bounds: --baselines past MAX_JSON_FILE_BYTES', files: { 's.json': scenario({ days: 3, heap: { checkpointEveryHours: 6, expect: { reference: 'pass' } } }), 'b.json': `{"x":"${'a'.repeat(5 * 1024 * 1024)}"}` }, args: ['check', '@/s.json', '--heap', '--baselines', '@/b.json', '--out', '@/out'], mentions: ['b.json', 'MAX_JSON_FILE_BYTES'] },
  { name: 'bounds: a skewed model whose average hides a billion events', files: { 's.json': scenario({ days: 366, traffic: { developers: 1, sessionsPerDay: 0.001, promptsPerSession: 10_000, toolUsesPerPrompt: 100_000 } }) }, args: run(), mentions: ['s.json:7', 'traffic makes up to', 'MAX_HOOK_EVENTS'] },
  { name: 'bounds: tune --days past MAX_HOOK_EVENTS', files: { 's.json': scenario({ traffic: { developers: 1_000, sessionsPerDay: 6, promptsPerSession: 8, toolUsesPerPrompt: 12 } }) }, args: ['tune', '@/s.json', '--days', '366', '--out', '@/out'], mentions: ['leaksim tune', '--days', 'MAX_HOOK_EVENTS'] },
  { name: 'out: /proc/x/y cannot be written', files: withScenario, args: run('--out', '/proc/x/y'), mentions: ['leaksim run', '--out "/proc/x/y"', 'cannot be written'] },
  { name: 'out: a 300-character name', files: withScenario, args: run('--out', `@/${'b'.repeat(300)}`), mentions: ['leaksim run', '--out', 'longer than the 200', 'MAX_FOLDER_NAME_BYTES'] },
  { name: 'scenario: a 300-character name', files: { 's.json': scenario({ name: 'a'.repeat(300) }) }, args: run(), mentions: ['s.json:2', 'name must NOT have more than 100 characters'] },
  { name: 'out: import over its own input, even with --force', files: { 'mine.jsonl': TRANSCRIPT_NOT }, args: ['import', 'claude-code', '@/mine.jsonl', '--force', '--out', '@/mine.jsonl'], mentions: ['leaksim import', '--out', 'one of the transcripts it reads'] },
  { name: 'out: import into a folder it reads', files: { 'in/x.jsonl': TRANSCRIPT_NOT }, args: ['import', 'claude-code', '@/in', '--out', '@/in/o.jsonl'], mentions: ['leaksim import', '--out', 'a folder it reads'] },
  { name: 'cli: record --upstream equal to --listen', args: ['record', '--listen', '127.0.0.1:37791', '--upstream', '127.0.0.1:37791', '--out', '@/r.jsonl'], mentions: ['leaksim record', '--upstream', 'where the recorder itself listens'] },
  { name: 'cli: record --upstream localhost equal to --listen 127.0.0.1', args: ['record', '--listen', '127.0.0.1:37792', '--upstream', 'localhost:37792', '--out', '@/r.jsonl'], mentions: ['leaksim record', '--upstream', 'where the recorder itself listens'] },
  { name: 'scenario: a duplicate key points at the second one', files: { 's.json': '{\n  "name": "tiny",\n  "days": 1,\n  "traffic": { "developers": 1 },\n  "days": 400\n}' }, args: run(), mentions: ['s.json:5', 'days is given twice (first on line 3, again here as 400)'] },
  { name: 'scenario: a nested duplicate key', files: { 's.json': '{\n  "name": "tiny",\n  "traffic": {\n    "developers": 1,\n    "developers": 0\n  }\n}' }, args: run(), mentions: ['s.json:5', 'traffic.developers is given twice'] },
  { name: 'scenario: 1e309 shown as such', files: { 's.json': '{\n  "name": "tiny",\n  "days": 1e309,\n  "traffic": { "developers": 1 }\n}' }, args: run(), mentions: ['s.json:3', 'days is 1e309, out of the range of a number'] },
  { name: 'scenario: -1e309 in traffic', files: { 's.json': '{\n  "name": "tiny",\n  "traffic": {\n    "developers": -1e309\n  }\n}' }, args: run(), mentions: ['s.json:4', 'traffic.developers is -1e309'] },
  { name: 'scenario: endings weights all 0', files: { 's.json': scenario({ traffic: { developers: 1, endings: { proper: 0, cleared: 0, resumed: 0, abandoned: 0 } } }) }, args: run(), mentions: ['s.json:', 'traffic.endings weights are all 0'] },
  { name: 'scenario: a TTL that rounds to a millisecond', files: { 's.json': scenario({ settings: { ttlMinutes: 0.00001 } }) }, args: run(), mentions: ['s.json:', 'settings.ttlMinutes is 0.00001', 'below the 1-second floor'] },
  { name: 'scenario: an idle timeout under a second', files: { 's.json': scenario({ settings: { generatorIdleTimeoutMinutes: 0.01 } }) }, args: run(), mentions: ['settings.generatorIdleTimeoutMinutes is 0.01', 'below the 1-second floor'] },
  { name: 'scenario: a restart delay under a second', files: { 's.json': scenario({ settings: { generatorRestartDelayMs: 5 } }) }, args: run(), mentions: ['settings.generatorRestartDelayMs is 5', 'below the 1-second floor'] },
  { name: 'settings: a misspelt key gets a did-you-mean', files: { ...withScenario, 'settings.json': '{\n  "CLAUDE_MEM_MODEL": "x",\n  "CLAUDE_MEM_SESION_TTL_MINUTES": "30"\n}' }, args: run('--settings', '@/settings.json'), mentions: ['settings.json:3', 'CLAUDE_MEM_SESION_TTL_MINUTES is not a setting leaksim reads: did you mean CLAUDE_MEM_SESSION_TTL_MINUTES?'] },
  { name: 'settings: another misspelling', files: { ...withScenario, 'settings.json': '{"CLAUDE_MEM_MAX_ACTIVE_SESSION": "5"}' }, args: run('--settings', '@/settings.json'), mentions: ['did you mean CLAUDE_MEM_MAX_ACTIVE_SESSIONS?'] },
  { name: 'settings: 1e309 shown as such', files: { ...withScenario, 'settings.json': '{\n"CLAUDE_MEM_MAX_ACTIVE_SESSIONS": 1e309\n}' }, args: run('--settings', '@/settings.json'), mentions: ['settings.json:2', 'CLAUDE_MEM_MAX_ACTIVE_SESSIONS is 1e309, out of the range of a number'] },
  { name: 'traffic: an impossible date (2026-02-30)', files: { 't.jsonl': `${HEADER.replace('2026-01-05', '2026-02-30')}\n${START}\n` }, args: replay(), mentions: ['t.jsonl:1', 'timeOrigin', 'a date that does not exist'] },
  { name: 'traffic: an impossible hour', files: { 't.jsonl': `${HEADER.replace('T09:', 'T25:')}\n${START}\n` }, args: replay(), mentions: ['t.jsonl:1', 'timeOrigin'] },
  { name: 'traffic: events six years apart', files: { 't.jsonl': traffic(START, PROMPT.replace('"atMs":1200', `"atMs":${SIX_YEARS_MS}`)) }, args: replay(), mentions: ['t.jsonl:3', 'atMs', 'MAX_TRAFFIC_SPAN_MS'] },
  { name: 'traffic: a 2,000-character session id', files: { 't.jsonl': traffic(START.replace('"s-1"', JSON.stringify('s'.repeat(2_000)))) }, args: replay(), mentions: ['t.jsonl:2', 'session is 2000 characters long', 'MAX_NAME_CHARS'] },
];

const CASES = [...SCENARIO_CASES, ...SETTINGS_CASES, ...TRAFFIC_CASES, ...CLI_CASES, ...ADAPTER_CASES, ...FAULT_CASES, ...DESTINATION_CASES, ...ISSUE_21_CASES];

/** Cases also run as a real child process (bin/leaksim.js). */
const IN_CHILD_PROCESS = new Set([
  'scenario: syntax error points at line and column',
  'scenario: nested 100 000 deep',
  'settings: syntax error at its real line and column',
  'traffic: atMs past a year',
  'cli: --days -1',
  'adapter: syntax error',
  'fault: shutdown-rejects',
  'fault: shutdown-rejects-unprintable',
  'fault: exit-during-run',
  'fault: endless-loop',
  'adapter: import-exit0 under check',
  'adapter: a top-level await that never settles',
  "out: a folder holding a user's file",
  'out: ..',
]);

/** Every file and folder under `dir` with a hash of its bytes: what "nothing changed" compares. */
function snapshot(dir: string): Record<string, string> {
  const entries: Record<string, string> = {};
  const walk = (folder: string) => {
    for (const name of readdirSync(folder).sort()) {
      const path = join(folder, name);
      const stat = statSync(path, { throwIfNoEntry: false });
      const key = relative(dir, path);
      if (!stat) entries[key] = 'dangling';
      else if (stat.isDirectory() && !path.endsWith('link')) {
        entries[key] = 'folder';
        walk(path);
      } else entries[key] = stat.isFile() ? createHash('sha256').update(readFileSync(path)).digest('hex') : 'other';
    }
  };
  walk(dir);
  return entries;
}

/** A verdict writes its report folder at @/out: everything else must be as it was. */
function outsideReport(entries: Record<string, string>, testCase: Case): Record<string, string> {
  if (testCase.code !== 1) return entries;
  return Object.fromEntries(Object.entries(entries).filter(([key]) => key !== 'out' && !key.startsWith('out/')));
}

function prepare(testCase: Case): { dir: string; args: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'leaksim-malformed-'));
  for (const [name, content] of Object.entries(testCase.files ?? {})) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  testCase.setup?.(dir);
  return { dir, args: testCase.args.map((arg) => arg.replace(/^@\//, `${dir}/`)) };
}

/** Exit 2: one line on stderr. A verdict (exit 1): stderr empty, the one ✗ line on stdout. */
function expectOneLine(stderr: readonly string[], testCase: Case, stdout: readonly string[] = []): void {
  if (testCase.code === 1) {
    expect(stderr, `stderr of "${testCase.name}"`).toEqual([]);
    const rows = stdout.filter((line) => /^[✓✗] /.test(line));
    expect(rows, `rows of "${testCase.name}"`).toHaveLength(1);
    expect(stdout.join('\n')).not.toMatch(/^\s+at |\.ts:\d+:\d+\)$/m);
    for (const mention of testCase.mentions) {
      if (typeof mention === 'string') expect(rows[0]).toContain(mention);
      else expect(rows[0]).toMatch(mention);
    }
    expect(stdout.some((line) => line.startsWith('    reproduce: npx leaksim run '))).toBe(true);
    return;
  }
  expect(stderr, `stderr of "${testCase.name}"`).toHaveLength(1);
  const line = stderr[0]!;
  expect(line).not.toMatch(/\n|^\s+at |\.ts:\d+:\d+\)$/);
  for (const mention of testCase.mentions) {
    if (typeof mention === 'string') expect(line).toContain(mention);
    else expect(line).toMatch(mention);
  }
}

describe('the malformed-input catalogue', () => {
  const clearEnv = () => {
    delete process.env.LEAKSIM_BROKEN;
    delete process.env.LEAKSIM_WATCHDOG_SECONDS;
    delete process.env.LEAKSIM_IMPORT_SECONDS;
  };
  beforeEach(clearEnv);
  afterEach(clearEnv);

  it('holds at least 120 cases over every kind of input and fault', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(120);
    for (const kind of ['scenario', 'settings', 'traffic', 'cli', 'adapter', 'fault', 'out', 'bounds']) expect(CASES.some((testCase) => testCase.name.startsWith(`${kind}:`))).toBe(true);
    expect(new Set(CASES.map((testCase) => testCase.name)).size).toBe(CASES.length);
  });

  it.each(CASES.map((testCase) => [testCase.name, testCase] as const))('%s: its exit code, one line, nothing changed outside the report', async (_name, testCase) => {
    const { dir, args } = prepare(testCase);
    Object.assign(process.env, testCase.env ?? {});
    const before = snapshot(dir);
    const reportsBefore = snapshot(join(ROOT, 'reports'));
    const output = collectOutput();
    const code = await main(args, output);
    expectOneLine(output.stderr, testCase, output.stdout);
    expect(code).toBe(testCase.code ?? 2);
    expect(outsideReport(snapshot(dir), testCase)).toEqual(before);
    if (testCase.code === 1) expect(existsSync(join(dir, 'out', 'summary.json'))).toBe(true);
    expect(Object.keys(snapshot(join(ROOT, 'reports'))).filter((key) => !key.startsWith('test-') && key !== 'vitest-results.json')).toEqual(
      Object.keys(reportsBefore).filter((key) => !key.startsWith('test-') && key !== 'vitest-results.json'),
    );
  }, CASE_BUDGET_MS);

  it.each(CASES.filter((testCase) => IN_CHILD_PROCESS.has(testCase.name)).map((testCase) => [testCase.name, testCase] as const))(
    '%s: the same as a real process',
    (_name, testCase) => {
      const { dir, args } = prepare(testCase);
      const before = snapshot(dir);
      const child = spawnSync(process.execPath, [join(ROOT, 'bin/leaksim.js'), ...args], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, ...testCase.env },
        timeout: CASE_BUDGET_MS,
      });
      expectOneLine(child.stderr.split('\n').filter((line) => line !== ''), testCase, child.stdout.split('\n'));
      expect(child.status).toBe(testCase.code ?? 2);
      expect(outsideReport(snapshot(dir), testCase)).toEqual(before);
    },
    CASE_BUDGET_MS,
  );
});

describe('target faults under check', () => {
  const clear = () => {
    delete process.env.LEAKSIM_BROKEN;
  };
  afterEach(clear);

  it('an expect file may name a fault invariant: then the ✗ becomes ✓ (as expected), exit 0, with the report', async () => {
    const { dir } = prepare({ name: 'expected-fault', files: { ...withScenario, 'e.json': '{"tiny": {"failsOn": ["clean-shutdown"], "why": "shutdown is not ours"}}' }, args: [], mentions: [] });
    process.env.LEAKSIM_BROKEN = 'shutdown-rejects';
    const output = collectOutput();
    const code = await main(['check', join(dir, 's.json'), '--target', BROKEN_ADAPTER, '--expect', join(dir, 'e.json'), '--jobs', '1', '--out', join(dir, 'out')], output);
    expect(output.stdout[0]).toMatch(/^✓ tiny · \S*broken\.ts · seed 1: clean-shutdown at day 0 .*shutdown\(\) rejected with Error: shutdown failed \(seed 1\) \(as expected\)$/);
    expect(code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'out', 'summary.json'), 'utf8')).runs[0]).toMatchObject({ verdict: 'fail', asExpected: true, firstViolation: { invariant: 'clean-shutdown' } });
  }, CASE_BUDGET_MS);

  it('a check worker process that dies under a run (the adapter kills its own process) fails that run, and the check still writes its report: never a green', async () => {
    const { dir } = prepare({ name: 'abort', files: { 's.json': scenario({ seeds: [1, 2] }) }, args: [], mentions: [] });
    process.env.LEAKSIM_BROKEN = 'abort-during-run';
    const output = collectOutput();
    const code = await main(['check', join(dir, 's.json'), '--target', BROKEN_ADAPTER, '--jobs', '2', '--out', join(dir, 'out')], output);
    const rows = output.stdout.filter((line) => /^[✓✗] /.test(line));
    expect(rows).toEqual([
      expect.stringMatching(/^✗ tiny · \S*broken\.ts · seed 1: target-responds at day 0 .*the check worker running it exited with SIGKILL before the run finished/),
      expect.stringMatching(/^✗ tiny · \S*broken\.ts · seed 2: target-responds at day 0 .*the check worker running it exited with SIGKILL before the run finished/),
    ]);
    expect(code).toBe(1);
    expect(existsSync(join(dir, 'out', 'summary.json'))).toBe(true);
  }, CASE_BUDGET_MS);
});

describe('an adapter that holds the event loop open at import', () => {
  it('cannot keep leaksim alive after the report: the process ends, exit 0', () => {
    const { dir, args } = prepare({ name: 'interval', files: withScenario, args: run('--target', BROKEN_ADAPTER), mentions: [] });
    const child = spawnSync(process.execPath, [join(ROOT, 'bin/leaksim.js'), ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, LEAKSIM_BROKEN: 'import-interval' }, timeout: CASE_BUDGET_MS });
    expect(child.signal).toBeNull(); // not killed by the timeout: it ended by itself
    expect(child.stderr).toBe('');
    expect(child.stdout).toMatch(/^✓ tiny · \S*broken\.ts · seed 1: pass$/m);
    expect(child.status).toBe(0);
    expect(existsSync(join(dir, 'out', 'summary.json'))).toBe(true);
  }, CASE_BUDGET_MS);
});

describe('report destinations', () => {
  it("--out at a folder holding a user's file leaves the file untouched and exits 2", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leaksim-out-'));
    writeFileSync(join(dir, 's.json'), scenario({}));
    mkdirSync(join(dir, 'project'));
    writeFileSync(join(dir, 'project', 'main.c'), 'int main(void) { return 0; }\n');
    const output = collectOutput();
    expect(await main(['run', join(dir, 's.json'), '--out', join(dir, 'project')], output)).toBe(2);
    expect(output.stdout).toEqual([]); // refused before anything ran
    expect(readFileSync(join(dir, 'project', 'main.c'), 'utf8')).toBe('int main(void) { return 0; }\n');
    expect(readdirSync(join(dir, 'project'))).toEqual(['main.c']);
    expect(readdirSync(dir).sort()).toEqual(['project', 's.json']);
  });

  it('replaces a folder leaksim wrote (it has the marker), and only its own files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leaksim-out-'));
    writeFileSync(join(dir, 's.json'), scenario({}));
    const out = join(dir, 'report');
    expect(await main(['run', join(dir, 's.json'), '--out', out], collectOutput())).toBe(0);
    expect(readFileSync(join(out, '.leaksim-report'), 'utf8')).toMatch(/written by leaksim/);
    const first = readFileSync(join(out, 'summary.json'), 'utf8');
    expect(await main(['run', join(dir, 's.json'), '--out', out], collectOutput())).toBe(0);
    expect(readFileSync(join(out, 'summary.json'), 'utf8')).toBe(first);
    expect(readdirSync(dir).sort()).toEqual(['report', 's.json']); // no staging or old folder left
    // An empty folder is fine too: nothing is lost by replacing it.
    mkdirSync(join(dir, 'empty'));
    expect(await main(['run', join(dir, 's.json'), '--out', join(dir, 'empty')], collectOutput())).toBe(0);
    expect(existsSync(join(dir, 'empty', 'summary.md'))).toBe(true);
  });

  it('a kill between the two renames (old report aside, new one not yet in place) is recovered by the next run; staging leftovers are removed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leaksim-out-'));
    writeFileSync(join(dir, 's.json'), scenario({}));
    const out = join(dir, 'report');
    expect(await main(['run', join(dir, 's.json'), '--out', out], collectOutput())).toBe(0);
    const first = readFileSync(join(out, 'summary.json'), 'utf8');
    // What SIGKILL at the worst instant leaves: the old report moved aside, a half-written staging folder.
    renameSync(out, join(dir, '.report.old-AbC123'));
    mkdirSync(join(dir, '.report.partial-XyZ789'));
    writeFileSync(join(dir, '.report.partial-XyZ789', '.leaksim-report'), readFileSync(join(dir, '.report.old-AbC123', '.leaksim-report')));
    // Before any new report: the pre-flight already brings the old one back and clears the staging leftover.
    checkReportFolder(out, { command: 'leaksim run', flag: '--out' });
    expect(readFileSync(join(out, 'summary.json'), 'utf8')).toBe(first);
    expect(readdirSync(dir).sort()).toEqual(['report', 's.json']);
    expect(await main(['run', join(dir, 's.json'), '--out', out], collectOutput())).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['report', 's.json']);
  });

  it('makes report folders readable like any folder (not private: mkdtemp makes 0700)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leaksim-out-'));
    writeFileSync(join(dir, 's.json'), scenario({}));
    const out = join(dir, 'report');
    expect(await main(['run', join(dir, 's.json'), '--out', out], collectOutput())).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o777 & ~process.umask());
  });

  it("refuses to replace a report folder holding a file leaksim did not write, and keeps the file", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leaksim-out-'));
    writeFileSync(join(dir, 's.json'), scenario({}));
    const out = join(dir, 'report');
    expect(await main(['run', join(dir, 's.json'), '--out', out], collectOutput())).toBe(0);
    writeFileSync(join(out, 'notes.md'), 'my analysis');
    const output = collectOutput();
    expect(await main(['run', join(dir, 's.json'), '--out', out], output)).toBe(2);
    expect(output.stderr).toEqual([expect.stringMatching(/^leaksim run: --out ".*report" holds a file leaksim did not write \(notes\.md\): move it out/)]);
    expect(readFileSync(join(out, 'notes.md'), 'utf8')).toBe('my analysis');
  });

  it('one run per report folder: a second run into a locked --out refuses in one line; a dead owner\'s lock is taken over', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leaksim-out-'));
    writeFileSync(join(dir, 's.json'), scenario({}));
    const out = join(dir, 'report');
    const where = { command: 'leaksim run', flag: '--out' };
    // A live owner: this process's parent stands in for another leaksim run.
    const lock = join(tmpdir(), `leaksim-report-lock-${createHash('sha256').update(out).digest('hex').slice(0, 24)}`);
    writeFileSync(lock, `${process.ppid}\n`);
    try {
      const output = collectOutput();
      expect(await main(['run', join(dir, 's.json'), '--out', out], output)).toBe(2);
      expect(output.stderr).toEqual([expect.stringMatching(new RegExp(`is being written by another leaksim run \\(process ${process.ppid}\\)`))]);
      expect(existsSync(out)).toBe(false);
      // An owner that is gone: taken over.
      writeFileSync(lock, '999999999\n');
      expect(await main(['run', join(dir, 's.json'), '--out', out], collectOutput())).toBe(0);
      expect(existsSync(lock)).toBe(false); // released when the command ended
      // Within one process, the same folder twice at once is refused too.
      lockReportFolder(out, where);
      expect(() => lockReportFolder(out, where)).toThrow(/another command in this process/);
    } finally {
      releaseReportLocks();
      rmSync(lock, { force: true });
    }
  });

  it('import --force replaces a finished file, and leaves no temporary file when refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leaksim-out-'));
    const transcript = join(ROOT, 'test/fixtures/traffic/claude-code');
    writeFileSync(join(dir, 'o.jsonl'), 'mine');
    expect(await main(['import', 'claude-code', transcript, '--out', join(dir, 'o.jsonl')], collectOutput())).toBe(2);
    expect(readFileSync(join(dir, 'o.jsonl'), 'utf8')).toBe('mine');
    const output = collectOutput();
    expect(await main(['import', 'claude-code', transcript, '--skip-bad', '--force', '--out', join(dir, 'o.jsonl')], output)).toBe(0);
    expect(readFileSync(join(dir, 'o.jsonl'), 'utf8')).toMatch(/^\{"format":"leaksim-traffic"/);
    expect(readdirSync(dir)).toEqual(['o.jsonl']);
  });
});
