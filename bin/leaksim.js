#!/usr/bin/env node
// The `leaksim` command: hands over to the CLI (every command is a function in sim/cli/ that tests
// call directly). An installed copy runs its build, compiled JavaScript in dist/esm/, and starts
// without compiling anything; tsx is loaded only for a user's TypeScript adapter or a claude-mem
// checkout. In a checkout of the repository (a .git beside package.json) it runs the TypeScript
// sources through tsx instead, so an edit takes effect without a build. LEAKSIM_RUN_FROM=build or
// =source chooses explicitly (the benchmark measures both).
import { existsSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const runFrom = process.env.LEAKSIM_RUN_FROM ?? (existsSync(new URL('.git', root)) ? 'source' : 'build');
if (runFrom !== 'build' && runFrom !== 'source') {
  process.stderr.write(`leaksim: LEAKSIM_RUN_FROM: expected "build" or "source", got ${JSON.stringify(runFrom)}\n`);
  process.exit(2);
}
const built = new URL('dist/esm/sim/cli/main.js', root);
if (runFrom === 'build' && !existsSync(built)) {
  process.stderr.write(`leaksim: ${built.pathname} is missing: build leaksim first (npm run build)\n`);
  process.exit(2);
}
// A reader that stops early (`leaksim check | head`) closes the pipe: that ends the output, not
// the program with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}
let main;
if (runFrom === 'build') ({ main } = await import(built.href));
else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../sim/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
