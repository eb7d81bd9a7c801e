/**
 * Inert values for the names a stood-in module exports that leaksim's stand-in does not provide,
 * and for every name imported from a package claude-mem's session path imports that is not
 * installed (`zod`, `@anthropic-ai/claude-agent-sdk`, `posthog-node`, ...). The session path
 * imports them to declare things it never uses in a simulation (request schemas checked by
 * Express middleware leaksim does not mount; the agent SDK, which leaksim's agent replaces).
 *
 * An inert value can be called, constructed, extended and read from, and gives another inert
 * value each time; it is never a promise (`then` is undefined). If claude-mem's code relied on
 * one for a result, the route would fail, and the bridge reports it as leaksim's error naming
 * the stand-in (`leaksim-inert:<module>.<name>` is on the stack in its `name`).
 */
type Inert = { (...args: unknown[]): Inert; new (...args: unknown[]): Inert } & { readonly [key: string]: Inert };

const made = new Map<string, Inert>();

export function inert(name: string): Inert {
  let value = made.get(name);
  if (value) return value;
  const callable = function inertValue() {} as unknown as Inert;
  Object.defineProperty(callable, 'name', { value: `leaksim-inert:${name}` });
  value = new Proxy(callable, {
    get: (target, key) => {
      if (key === 'then') return undefined;
      if (key === 'prototype') return Reflect.get(target, key);
      if (key === Symbol.toPrimitive) return () => `[leaksim-inert:${name}]`;
      if (typeof key === 'symbol') return Reflect.get(target, key);
      return inert(`${name}.${key}`);
    },
    apply: () => inert(`${name}()`),
    construct: () => inert(`new ${name}`) as object,
  });
  made.set(name, value);
  return value;
}
