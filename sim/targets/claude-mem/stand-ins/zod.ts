/**
 * Stand-in for the `zod` package, which claude-mem 13.x's session routes import to declare the
 * request schemas that its Express middleware checks (`setupRoutes`). leaksim calls the route
 * handlers directly with well-formed bodies and never mounts the middleware, so a schema is
 * never used: this builds inert schema objects whose every method returns another one.
 */
type Inert = { (...args: unknown[]): Inert } & { readonly [key: string]: Inert };

const inert: Inert = new Proxy(function schema() {} as unknown as Inert, {
  get: (_target, key) => (key === 'then' ? undefined : inert),
  apply: () => inert,
});

export const z = inert;
export default inert;
