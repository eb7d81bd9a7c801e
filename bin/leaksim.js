#!/usr/bin/env node
// The published entry point: registers tsx so the TypeScript sources run as they are, then hands
// over to the CLI. Everything the CLI does is a function in sim/cli/ that tests call directly.
import { register } from 'tsx/esm/api';

register();
// A reader that stops early (`leaksim check | head`) closes the pipe: that ends the output, not
// the program with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}
const { main } = await import('../sim/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
