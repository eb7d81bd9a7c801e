#!/usr/bin/env node
// The published entry point: registers tsx so the TypeScript sources run as they are, then hands
// over to the CLI. Everything the CLI does is a function in sim/cli/ that tests call directly.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../sim/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
