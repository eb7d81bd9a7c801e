/**
 * The reference target alone: the floor every simulation-against-target ratio of the benchmark
 * stands on. The target is handed what the simulation hands it (the same hook events, texts of
 * the same sizes from the same content source, the fake clock moved to each event so that its
 * expiry timers fire) and an agent that answers every claimed message at once with a reply of
 * the simulation's mean size. Missing: the driver and its agenda, agent latencies, the checker,
 * the model, samples and trace, which is what the ratios measure.
 */
import type { Agent, GeneratorContext } from '../src/contract.ts';
import type { RetentionSettings } from '../src/settings.ts';
import { PendingStore } from '../src/pending-store.ts';
import { referenceTarget } from '../src/session-manager.ts';
import { DEFAULT_AGENT } from '../sim/engine/agent.ts';
import { SimClock } from '../sim/engine/clock.ts';
import { ContentSource } from '../sim/engine/content.ts';
import type { HookEvent } from '../sim/engine/events.ts';
import { OBSERVATION_TEMPLATE_CHARS, SUMMARY_TEMPLATE_CHARS } from '../sim/runs/driver.ts';
import { ORIGIN_EPOCH_MS } from '../sim/runs/run.ts';

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

/**
 * Sends `events` to a new reference target with `settings`, one await per event so that generator
 * ends run as they would in a worker. Returns the CPU and wall time it took (from the first event
 * to the last; the shutdown after is not counted).
 */
export async function runTargetAlone(events: Iterable<HookEvent>, settings: RetentionSettings): Promise<{ hookEvents: number; cpuMicros: number; wallSeconds: number }> {
  const content = new ContentSource();
  const clock = SimClock.install(ORIGIN_EPOCH_MS);
  try {
    const target = referenceTarget({ settings, store: new PendingStore(), agent: instantAgent(content) });
    const sessionIds = new Map<string, number>();
    let hookEvents = 0;
    const cpuStarted = process.cpuUsage();
    const wallStarted = process.hrtime.bigint();
    for (const event of events) {
      clock.advanceTo(event.atMs);
      if (event.kind === 'prompt') sessionIds.set(event.session, target.initializeSession({ contentSessionId: event.session, project: event.project, userPrompt: event.text ?? content.text(event.promptChars) }).sessionDbId);
      else if (event.kind === 'tool-use') target.queueObservation({ contentSessionId: event.session, toolName: event.toolName, text: event.text ?? content.text(OBSERVATION_TEMPLATE_CHARS + event.inputChars + event.responseChars) });
      else if (event.kind === 'stop') target.queueSummarize({ contentSessionId: event.session, text: event.text ?? content.text(SUMMARY_TEMPLATE_CHARS + event.messageChars) });
      else if (event.kind === 'session-end' && sessionIds.has(event.session)) await target.completeSession(sessionIds.get(event.session)!);
      hookEvents += 1;
      await null;
    }
    const wallSeconds = Number(process.hrtime.bigint() - wallStarted) / 1e9;
    const cpu = process.cpuUsage(cpuStarted);
    await target.shutdown();
    return { hookEvents, cpuMicros: cpu.user + cpu.system, wallSeconds };
  } finally {
    clock.uninstall();
  }
}
