/**
 * Stand-in for claude-mem's alternative providers (8.5.x `GeminiAgent.ts` / `OpenRouterAgent.ts`,
 * 13.x `GeminiProvider.ts` / `OpenRouterProvider.ts`). The session routes import them to ask
 * whether Gemini or OpenRouter is selected; here neither is, so the routes always pick the
 * Claude agent, which leaksim's bridge replaces with its simulated agent. The classes are never
 * constructed by leaksim (the routes receive the bridge agent for all three slots).
 */
export class GeminiAgent {}
export class OpenRouterAgent {}
export class GeminiProvider {}
export class OpenRouterProvider {}
export const isGeminiSelected = (): boolean => false;
export const isGeminiAvailable = (): boolean => false;
export const isOpenRouterSelected = (): boolean => false;
export const isOpenRouterAvailable = (): boolean => false;

/**
 * 13.x's `ClaudeProvider.ts` spawns the Claude Agent SDK (`@anthropic-ai/claude-agent-sdk`, not
 * installed here). The routes import the class only as a type and `classifyClaudeError` for the
 * branch where the Claude CLI needs setup, which a simulation never reaches (no dependency status
 * is ever recorded): if it were reached, the error is classified as a plain failure.
 */
export class ClaudeProvider {}
export const classifyClaudeError = (error: unknown): { kind: 'unknown'; message: string } => ({
  kind: 'unknown',
  message: error instanceof Error ? error.message : String(error),
});
