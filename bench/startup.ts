/**
 * Start-up of the `leaksim` command and of a check worker, from the build (compiled JavaScript,
 * what an installed copy runs) against the sources compiled by tsx at every start (what every
 * start cost before the build). Goal: the build at most a third of the sources' time. Each
 * measurement is a child process's CPU time (user + system, which a loaded machine does not
 * stretch the way it stretches wall time; the child reports it as it exits), the median of
 * STARTUP_REPEATS, the two ways alternating so that the machine's load falls on both alike.
 *
 * Needs the build (`npm run build`; `npm install` runs it).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const STARTUP_REPEATS = 7;

/** Loaded first in the child: writes the process's CPU time (µs) to fd 3 as it exits. */
const REPORT_CPU = `data:text/javascript,${encodeURIComponent("import { writeSync } from 'node:fs'; process.on('exit', () => { const { user, system } = process.cpuUsage(); writeSync(3, String(user + system)); });")}`;

/** CPU milliseconds of `node …args` from start to exit. */
function cpuMs(args: readonly string[], env: NodeJS.ProcessEnv): number {
  const result = spawnSync(process.execPath, ['--import', REPORT_CPU, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit', 'pipe'], encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`bench: node ${args.join(' ')} exited ${result.status}`);
  return Number(result.output[3]) / 1e3;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Both ways, alternating: [from source, from the build] medians in ms. */
function sideBySide(source: () => number, build: () => number): [number, number] {
  const fromSource: number[] = [];
  const fromBuild: number[] = [];
  for (let repeat = 0; repeat < STARTUP_REPEATS; repeat += 1) {
    fromSource.push(source());
    fromBuild.push(build());
  }
  return [median(fromSource), median(fromBuild)];
}

function line(name: string, [source, build]: [number, number]): string {
  const ratio = build / source;
  return `  ${name.padEnd(28)} sources via tsx ${source.toFixed(0).padStart(5)} ms   build ${build.toFixed(0).padStart(5)} ms   ratio ${ratio.toFixed(2)}   goal ≤ 0.33   ${ratio <= 1 / 3 ? 'met' : 'NOT met'}`;
}

export function startup(): void {
  if (!existsSync(join(ROOT, 'dist/esm/sim/cli/main.js'))) {
    console.log('start-up: no build in dist/ (npm run build), not measured');
    return;
  }
  console.log(`start-up, CPU time of a child process, median of ${STARTUP_REPEATS}, side by side:`);
  const bin = join(ROOT, 'bin/leaksim.js');
  console.log(line('leaksim --version', sideBySide(() => cpuMs([bin, '--version'], { LEAKSIM_RUN_FROM: 'source' }), () => cpuMs([bin, '--version'], { LEAKSIM_RUN_FROM: 'build' }))));
  // A check worker loads its modules and, with no IPC channel to wait on, ends: its start-up alone.
  console.log(line('a check worker (run-child)', sideBySide(() => cpuMs(['--import', 'tsx', 'sim/runs/pool/run-child.ts'], {}), () => cpuMs(['dist/esm/sim/runs/pool/run-child.js'], {}))));
}

if (import.meta.filename === process.argv[1]) startup();
