/**
 * Constructs claude-mem's classes the way its worker does, with leaksim's objects in the slots,
 * wired by the constructor's parameter names and types as written in the checkout's source
 * (structure.ts), never by position: a pull request that adds, removes or reorders a parameter is
 * followed. Each parameter is matched to a role by its type name, else its parameter name; an
 * optional parameter no role matches is left out; a required one gets a silent object (every
 * method a no-op), as the broadcaster does, and is listed in `unknownParameters`.
 */
import { join } from 'node:path';
import { InputError } from '../../../src/input-error.ts';
import { misfit, type ClaudeMemCheckout } from './layout.ts';
import { constructorParameters, type ConstructorParameter } from './structure.ts';

export type Role = 'sessionManager' | 'database' | 'agent' | 'broadcaster' | 'worker' | 'completion';

/** Which role a parameter plays, by its type (first) or its name. */
const ROLE_PATTERNS: readonly (readonly [Role, RegExp])[] = [
  ['sessionManager', /^SessionManager$|^sessionManager$/],
  ['database', /^DatabaseManager$|^dbManager$|^databaseManager$/],
  ['completion', /CompletionHandler$/i],
  ['broadcaster', /Broadcaster$/i],
  ['worker', /^WorkerService$|^workerService$|^worker$/],
  ['agent', /(Agent|Provider)$/],
];

export function roleOf(parameter: ConstructorParameter): Role | undefined {
  const typeName = parameter.type.replace(/\s*\|\s*(null|undefined)\b/g, '').trim();
  for (const [role, pattern] of ROLE_PATTERNS) if (pattern.test(typeName)) return role;
  for (const [role, pattern] of ROLE_PATTERNS) if (pattern.test(parameter.name)) return role;
  return undefined;
}

/** A required parameter leaksim has no object for: every method is a no-op returning undefined. */
export const SILENT_OBJECT: Record<string, () => void> = new Proxy({}, { get: (_target, key) => (key === 'then' ? undefined : () => undefined) });

export class Wiring {
  readonly #checkout: ClaudeMemCheckout;
  /** `Class.parameter` names the bridge had no role for, in the order met. */
  readonly unknownParameters: string[] = [];

  constructor(checkout: ClaudeMemCheckout) {
    this.#checkout = checkout;
  }

  /** `new Class(...)` with the arguments its source's constructor names, from `objects` by role. */
  construct<T>(Class: unknown, file: string, className: string, objects: Partial<Record<Role, unknown>>): T {
    if (typeof Class !== 'function') throw new InputError('--target', 0, '', misfit(this.#checkout, file, `exports no class ${className}`));
    const parameters = constructorParameters(join(this.#checkout.root, file), className);
    if (!parameters) throw new InputError('--target', 0, '', misfit(this.#checkout, file, `declares no class ${className}`));
    const args = parameters.map((parameter) => {
      const role = roleOf(parameter);
      if (role && role in objects) return objects[role];
      if (parameter.optional) return undefined;
      if (role === 'sessionManager' || role === 'database') {
        throw new InputError('--target', 0, '', misfit(this.#checkout, file, `${className}'s constructor parameter ${parameter.name}: ${parameter.type} needs a ${role} the bridge cannot give here`));
      }
      this.unknownParameters.push(`${className}.${parameter.name}`);
      return SILENT_OBJECT;
    });
    return new (Class as new (...args: unknown[]) => T)(...args);
  }
}
