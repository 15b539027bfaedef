// The intent and plan steps' model calls. The system prompt and the tool list are added here, outside the
// workflow, so a prompt change needs no workflow patch; tool policies (timeout, sensitivity) travel back with
// the plan so the workflow can give every tool call its own activity options.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { UnavailableError } from '../core/errors.js';
import { LlmUnavailableError } from '../llm/errors.js';
import { classifyIntentWithLlm } from '../llm/intent.js';
import type { AssistantMessage, ChatMessage, ChatResult } from '../llm/types.js';
import { recordLlmUsage } from '../llm/usage.js';
import type { ActivityDeps } from './deps.js';
import { recordRunEvent } from './run-events.js';

export interface ToolPolicy {
  timeoutMs: number;
  sensitive: boolean;
  maxAttempts: number;
}

export interface PlannedStep {
  assistant: AssistantMessage;
  tools: Record<string, ToolPolicy>;
}

/** Tools are retried a little: a model can usually work around a failing tool faster than a long backoff. */
export const DEFAULT_TOOL_ATTEMPTS = 3;

export const SYSTEM_PROMPT = [
  'You are Conduit, an assistant inside a company chat. Answer concisely in the language the user writes in.',
  'Use the tools when they help; never invent tool results. When a tool fails, say so plainly.',
].join(' ');

export function createLlmActivities({ llm, tools, metrics, db }: ActivityDeps) {
  // Each role's client is a failover router (llm/router.ts); it times every provider call itself.
  const roles = () => {
    if (!llm) throw new UnavailableError('no language model is configured');
    return llm;
  };

  return {
    async classifyIntent({ text }: { text: string }) {
      const calls: ChatResult[] = [];
      const result = await withModel(() =>
        classifyIntentWithLlm(roles().intent, text, { onResult: (call) => calls.push(call) }),
      );
      await recordLlmUsage(db, metrics, currentWorkflowId(), calls);
      await recordRunEvent(db, 'intent', { intent: result.intent, confidence: result.confidence });
      return { name: result.intent, confidence: result.confidence };
    },

    async planNextStep({ messages }: { workflowId: string; messages: ChatMessage[] }): Promise<PlannedStep> {
      const specs = tools.list();
      const result = await withModel(() =>
        roles().plan.chat({
          messages: [{ role: 'system', content: SYSTEM_PROMPT }, ...messages],
          tools: specs.length ? specs : undefined,
        }),
      );
      await recordLlmUsage(db, metrics, currentWorkflowId(), [result]);
      const policies: Record<string, ToolPolicy> = {};
      for (const call of result.message.toolCalls) {
        const tool = tools.get(call.name);
        if (tool)
          policies[call.name] = {
            timeoutMs: tool.timeoutMs,
            sensitive: tool.sensitive,
            maxAttempts: DEFAULT_TOOL_ATTEMPTS,
          };
      }
      await recordRunEvent(
        db,
        'step',
        { step: 'plan', toolCalls: result.message.toolCalls.map((call) => call.name) },
        { dedupeSuffix: `plan:${messages.length}` },
      );
      return { assistant: result.message, tools: policies };
    },
  };
}

/** The run an activity works for, from the activity context. */
const currentWorkflowId = () => Context.current().info.workflowExecution?.workflowId ?? 'standalone';

/** No provider answered but one may recover: Temporal retries no sooner than the largest Retry-After seen. */
async function withModel<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof LlmUnavailableError)) throw error;
    throw ApplicationFailure.create({
      type: 'llm_unavailable',
      message: error.message,
      nextRetryDelay: error.retryAfterMs,
    });
  }
}
