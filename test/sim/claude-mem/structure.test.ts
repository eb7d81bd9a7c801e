/**
 * What leaksim reads from a claude-mem checkout's source (sim/targets/claude-mem/structure.ts,
 * wiring.ts): export lists, constructor parameters, the session path and its missing packages,
 * and the role each constructor parameter plays. Small source files written here; no checkout needed.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { constructorParameters, exportNames, finallyAbortsController, numericConstant, sessionPath, stringSetConstant } from '../../../sim/targets/claude-mem/structure.ts';
import { eraOf } from '../../../sim/targets/claude-mem/layout.ts';
import { roleOf } from '../../../sim/targets/claude-mem/wiring.ts';

const root = mkdtempSync(join(tmpdir(), 'leaksim-structure-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
function write(file: string, text: string): string {
  const path = join(root, file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}

describe("reading claude-mem's structure from its source", () => {
  it('lists every value a module exports, following export * and leaving types out', () => {
    write('src/shared/more.ts', 'export const MARKETPLACE_ROOT = "/x";\nexport type Hidden = string;\n');
    const paths = write(
      'src/shared/paths.ts',
      'export const DATA_DIR = "/d", LOGS_DIR = "/l";\nexport function ensureDir() {}\nexport class Paths {}\nexport enum Kind { A }\nexport interface Shape {}\nexport type T = number;\nexport { DATA_DIR as dataDir };\nexport * from "./more.js";\nexport default DATA_DIR;\n',
    );
    expect(exportNames(paths)).toEqual(['DATA_DIR', 'Kind', 'LOGS_DIR', 'MARKETPLACE_ROOT', 'Paths', 'dataDir', 'default', 'ensureDir']);
  });

  it("reads a constructor's parameters by name and type, and wires each by its role, not its position", () => {
    const routes = write(
      'src/routes.ts',
      'export class SessionRoutes {\n  constructor(private sessionManager: SessionManager, private dbManager: DatabaseManager, private mistralAgent: MistralProvider, private eventBroadcaster: SessionEventBroadcaster, private workerService: WorkerService, private completionHandler: SessionCompletionHandler, private extra?: Telemetry) {}\n}\n',
    );
    const parameters = constructorParameters(routes, 'SessionRoutes')!;
    expect(parameters.map((parameter) => parameter.name)).toEqual(['sessionManager', 'dbManager', 'mistralAgent', 'eventBroadcaster', 'workerService', 'completionHandler', 'extra']);
    expect(parameters.map(roleOf)).toEqual(['sessionManager', 'database', 'agent', 'broadcaster', 'worker', 'completion', undefined]);
    expect(parameters[6]!.optional).toBe(true);
    expect(constructorParameters(routes, 'NoSuchClass')).toBeUndefined();
  });

  it('walks the session path by value imports, and names the packages it imports that are not installed, with the names imported', () => {
    write('src/a.ts', 'import { z } from "zod";\nimport type { Foo } from "./types.js";\nimport { b } from "./b.js";\nimport express, { type Request } from "express";\nexport const a = b;\n');
    write('src/b.ts', 'import { query } from "@anthropic-ai/claude-agent-sdk/sdk.js";\nimport { EventEmitter } from "events";\nimport { logger } from "./logger.js";\nexport const b = 1;\n');
    write('src/types.ts', 'import { never } from "types-only-package";\nexport type Foo = string;\n');
    write('src/logger.ts', 'import pino from "pino";\nexport const logger = pino();\n');
    const path = sessionPath(root, ['src/a.ts'], new Set(['src/logger']));
    expect(path.files).toEqual(['src/a.ts', 'src/b.ts']);
    expect(path.missingPackages).toEqual({ '@anthropic-ai/claude-agent-sdk/sdk.js': ['query'], express: ['default'], zod: ['z'] });
  });

  it('reads the constants the bridge follows: an idle timeout, a set of skipped tools', () => {
    const file = write('src/queue.ts', 'const IDLE_TIMEOUT_MS = 3 * 60 * 1000;\nconst SKIP_TOOLS = new Set(["TodoWrite", "Skill"]);\n');
    expect(numericConstant(file, 'IDLE_TIMEOUT_MS')).toBe(180_000);
    expect(numericConstant(file, 'NOT_THERE')).toBeUndefined();
    expect(stringSetConstant(file, 'SKIP_TOOLS')).toEqual(['TodoWrite', 'Skill']);
  });

  it("tells whether a generator's finally aborts its session's controller, and the era follows it", () => {
    const generator = (finallyBody: string) => `class SessionRoutes {\n  start(session) {\n    session.generatorPromise = run(session.abortController)\n      .catch(() => undefined)\n      .finally(() => {\n        session.generatorPromise = null;\n${finallyBody}      });\n  }\n  stop(session) { session.abortController.abort(); }\n}\n`;
    const aborting = write('aborting/SessionRoutes.ts', generator('        if (!session.abortController.signal.aborted && pending === 0) session.abortController.abort();\n'));
    const leaving = write('leaving/SessionRoutes.ts', generator('        if (pending > 0) setTimeout(() => restart(session), 1000);\n'));
    expect(finallyAbortsController(aborting)).toBe(true);
    // An abort elsewhere in the file (stop) is not one in the finally.
    expect(finallyAbortsController(leaving)).toBe(false);
    expect(eraOf({ layout: '8.5', queue: 'sqlite' }, undefined, true)).toBe('legacy-routes');
    expect(eraOf({ layout: '8.5', queue: 'sqlite' }, undefined, false)).toBe('legacy-routes-unaborted');
    expect(eraOf({ layout: '8.5', queue: 'sqlite' }, 180_000, false)).toBe('idle-generators');
  });
});
