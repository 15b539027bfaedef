// The intent and plan steps' model calls (llm/intent.ts, tools/plan-step.ts decide), with each call's usage and
// the step in the run's event log. A model that no provider serves right now becomes a retryable failure that
// waits at least as long as the providers are held back (open breakers, Retry-After).
import { ApplicationFailure, Context } from '@temporalio/activity';
import { UnavailableError } from '../core/errors.js';
import { LlmUnavailableError } from '../llm/errors.js';
import { classifyIntentWithLlm } from '../llm/intent.js';
import type { ChatMessage, ChatResult } from '../llm/types.js';
import { recordLlmUsage } from '../llm/usage.js';
import type { RunEventType } from '../runs/run-events.js';
import { type PlannedStep, planNextStep } from '../tools/plan-step.js';
import type { ActivityDeps } from './deps.js';
import { recordRunEvent, runEventCte } from './run-events.js';

export function createLlmActivities({ llm, tools, metrics, db, logger }: ActivityDeps) {
  // Each role's client is a failover router (llm/router.ts); it times every provider call itself.
  const roles = () => {
    if (!llm) throw new UnavailableError('no language model is configured');
    return llm;
  };

  // The step's event goes in the statement that records the usage (it was the next statement before): one round
  // trip instead of two. A step without calls to record writes its event on its own.
  const recordUsageAndEvent = async (
    calls: ChatResult[],
    type: RunEventType,
    data: Record<string, unknown>,
    options: { dedupeSuffix?: string } = {},
  ) => {
    if (calls.length === 0) return recordRunEvent(db, type, data, options);
    await recordLlmUsage(db, metrics, currentWorkflowId(), calls, runEventCte(type, data, options));
  };

  const classify = async (text: string) => {
    const calls: ChatResult[] = [];
    const result = await withModel(() =>
      classifyIntentWithLlm(roles().intent, text, { onResult: (call) => calls.push(call) }),
    );
    await recordUsageAndEvent(calls, 'intent', { intent: result.intent, confidence: result.confidence });
    return { name: result.intent, confidence: result.confidence };
  };

  const plan = async (messages: ChatMessage[]): Promise<PlannedStep> => {
    const { step, call } = await withModel(() => planNextStep(roles().plan, tools, messages));
    await recordUsageAndEvent(
      [call],
      'step',
      { step: 'plan', toolCalls: step.assistant.toolCalls.map((toolCall) => toolCall.name) },
      { dedupeSuffix: `plan:${messages.length}` },
    );
    return step;
  };

  return {
    async classifyIntent({ text }: { text: string }) {
      return classify(text);
    },

    async planNextStep({ messages }: { workflowId: string; messages: ChatMessage[] }): Promise<PlannedStep> {
      return plan(messages);
    },

    /**
     * The intent and the first plan of a run in one activity: one dispatch and one workflow task fewer than two
     * activities one after the other. Asked one after the other, in the order the two activities asked them, so
     * the model sees the same calls. The intent only labels the run: its failure is logged and leaves `intent`
     * unset, and a retry (the plan failed, or the worker died) does not ask for it again: the retry is for the
     * answer, and a label is not worth another model call.
     */
    async classifyAndPlan({ text, messages }: { workflowId: string; text: string; messages: ChatMessage[] }) {
      const intent =
        Context.current().info.attempt > 1
          ? undefined
          : await classify(text).catch((error: unknown) => {
              logger.warn(
                { error: error instanceof Error ? error.message : String(error) },
                'intent classification failed',
              );
              return undefined;
            });
      return { intent, planned: await plan(messages) };
    },
  };
}

/** The run an activity works for, from the activity context. */
const currentWorkflowId = () => Context.current().info.workflowExecution?.workflowId ?? 'standalone';

/**
 * No provider answered but one may recover: Temporal retries no sooner than every provider held back (open
 * breaker, Retry-After) may be called again; without such a wait the retry policy's backoff applies.
 */
async function withModel<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof LlmUnavailableError)) throw error;
    throw ApplicationFailure.create({
      type: 'llm_unavailable',
      message: error.message,
      nextRetryDelay: error.retryAfterMs && error.retryAfterMs > 0 ? error.retryAfterMs : undefined,
    });
  }
}
