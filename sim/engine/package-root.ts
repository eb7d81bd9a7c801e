/**
 * Where leaksim itself lives: its repository, or its folder in a project's node_modules. Built-in
 * scenarios, the schema and the committed baselines are found from here, and a report is never
 * written into it or any folder above it.
 */
import { resolve } from 'node:path';

export const PACKAGE_ROOT = resolve(import.meta.dirname, '../..');
