/**
 * The floors every simulation-against-target ratio of the benchmark stands on.
 *
 * `runTargetAlone`: the reference target alone. It is handed what the simulation hands it (the
 * same hook events, texts of the same sizes from the same content source, the fake clock moved to
 * each event so that its expiry timers fire) and an agent that answers every claimed message at
 * once with a reply of the simulation's mean size. Missing: the driver and its agenda, agent
 * latencies, the checker, the model, samples and trace, which is what the ratios measure.
 *
 * `runAgentLoop`: the same, with the simulated agent instead (sim/engine/agent.ts: each reply after
 * its latency, as an event of its own in a time-ordered queue). The simulation's loop with nothing
 * judged: no checker, no model, no trace, no samples, no settles. Between the two floors is what
 * simulating the agent costs; between this one and the full simulation, what judging costs.
 */
import type { Agent, GeneratorContext } from '../src/contract.ts';
import { PendingStore } from '../src/pending-store.ts';
import { referenceTarget } from '../src/session-manager.ts';
import type { RetentionSettings } from '../src/settings.ts';
import TinyQueue from 'tinyqueue';
import { DEFAULT_AGENT, SimulatedAgent, type AgentFaults, type AgentHost, type AgentModel, type Deferred } from '../sim/engine/agent.ts';
import { SimClock } from '../sim/engine/clock.ts';
import { ContentSource } from '../sim/engine/content.ts';
import type { HookEvent } from '../sim/engine/events.ts';
import { Rng } from '../sim/engine/rng.ts';
import { OBSERVATION_TEMPLATE_CHARS, SUMMARY_TEMPLATE_CHARS } from '../sim/runs/driver.ts';
import { ORIGIN_EPOCH_MS } from '../sim/runs/run.ts';

export interface FloorRun {
  readonly hookEvents: number;
  readonly cpuMicros: number;
  readonly wallSeconds: number;
}

/** An agent that answers every claimed message at once: the least a generator run can cost. */
function instantAgent(content: ContentSource): Agent {
  return {
    run(context: GeneratorContext): Promise<void> {
      for (let message = context.claim(); message; message = context.claim()) {
        context.append({ role: 'user', content: message.text });
        context.append({ role: 'assistant', content: content.text(DEFAULT_AGENT.replyChars) });
        context.ack(message);
      }
      return Promise.resolve();
    },
  };
}

/** Sends one hook event to the reference's route, with texts of the sizes the simulation sends: a session's end answers with a promise. */
function route(target: ReturnType<typeof referenceTarget>, event: HookEvent, content: ContentSource, sessionIds: Map<string, number>): Promise<unknown> | undefined {
  if (event.kind === 'prompt') sessionIds.set(event.session, target.initializeSession({ contentSessionId: event.session, project: event.project, userPrompt: event.text ?? content.text(event.promptChars) }).sessionDbId);
  else if (event.kind === 'tool-use') target.queueObservation({ contentSessionId: event.session, toolName: event.toolName, text: event.text ?? content.text(OBSERVATION_TEMPLATE_CHARS + event.inputChars + event.responseChars) });
  else if (event.kind === 'stop') target.queueSummarize({ contentSessionId: event.session, text: event.text ?? content.text(SUMMARY_TEMPLATE_CHARS + event.messageChars) });
  else if (event.kind === 'session-end' && sessionIds.has(event.session)) return target.completeSession(sessionIds.get(event.session)!);
  return undefined;
}

/**
 * Sends `events` to a new reference target with `settings` and the agent `agentFor` makes, one
 * await per event so that generator ends run as they would in a worker. `due(untilMs)`, when the
 * agent has one, fires the agent's next reply due by `untilMs` and says whether there was one: it
 * is called until there is none before each event, and with no bound after the last. CPU and wall
 * time from the first event to the last reply; the shutdown after is not counted.
 */
async function runFloor(events: Iterable<HookEvent>, settings: RetentionSettings, agentFor: (content: ContentSource, clock: SimClock) => { agent: Agent; due?: (untilMs: number) => boolean }): Promise<FloorRun> {
  const content = new ContentSource();
  const clock = SimClock.install(ORIGIN_EPOCH_MS);
  try {
    const { agent, due } = agentFor(content, clock);
    const target = referenceTarget({ settings, store: new PendingStore(), agent });
    const sessionIds = new Map<string, number>();
    let hookEvents = 0;
    const cpuStarted = process.cpuUsage();
    const wallStarted = process.hrtime.bigint();
    for (const event of events) {
      // Agent replies due before this event, each an event of its own.
      while (due?.(event.atMs)) await null;
      clock.advanceTo(event.atMs);
      const ended = route(target, event, content, sessionIds);
      if (ended) await ended;
      hookEvents += 1;
      await null;
    }
    while (due?.(Infinity)) await null;
    const wallSeconds = Number(process.hrtime.bigint() - wallStarted) / 1e9;
    const cpu = process.cpuUsage(cpuStarted);
    await target.shutdown();
    return { hookEvents, cpuMicros: cpu.user + cpu.system, wallSeconds };
  } finally {
    clock.uninstall();
  }
}

/** The reference alone, with an agent that answers at once. */
export function runTargetAlone(events: Iterable<HookEvent>, settings: RetentionSettings): Promise<FloorRun> {
  return runFloor(events, settings, (content) => ({ agent: instantAgent(content) }));
}

/** The reference with the simulated agent, its replies as events of their own, nothing judged. */
export function runAgentLoop(events: Iterable<HookEvent>, settings: RetentionSettings, model: AgentModel, faults: AgentFaults, seed: number): Promise<FloorRun> {
  return runFloor(events, settings, (content, clock) => {
    const agenda = new TinyQueue<{ readonly atMs: number; readonly seq: number; readonly deferred: Deferred }>([], (a, b) => a.atMs - b.atMs || a.seq - b.seq);
    let seq = 0;
    const ignore = (): void => {};
    const host: AgentHost = {
      get nowMs() {
        return clock.nowMs;
      },
      at: (atMs, deferred) => agenda.push({ atMs, seq: seq++, deferred }),
      runStarted: ignore,
      runEnded: ignore,
      aborted: ignore,
      claimed: ignore,
      lingering: ignore,
      processingStarted: ignore,
      processingEnded: ignore,
      staleClaim: ignore,
      activity: ignore,
      acknowledged: ignore,
      appended: ignore,
    };
    const agent = new SimulatedAgent(host, model, faults, Rng.stream(seed, 'agent'), Rng.stream(seed, 'faults.agent'), content);
    const due = (untilMs: number): boolean => {
      const next = agenda.peek();
      if (!next || next.atMs > untilMs) return false;
      agenda.pop();
      clock.advanceTo(next.atMs);
      next.deferred.fire();
      return true;
    };
    return { agent, due };
  });
}
