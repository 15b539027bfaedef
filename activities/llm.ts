// The intent and plan steps' model calls. The system prompt and the tool list are added here, outside the
// workflow, so a prompt change needs no workflow patch; tool policies (timeout, sensitivity) travel back with
// the plan so the workflow can give every tool call its own activity options.
import { UnavailableError } from '../core/errors.js';
import { timed } from '../core/metrics.js';
import { classifyIntentWithLlm } from '../llm/intent.js';
import type { AssistantMessage, ChatMessage } from '../llm/types.js';
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
  const client = () => {
    if (!llm) throw new UnavailableError('no language model is configured');
    return llm;
  };
  const labels = () => ({ provider: client().provider, model: client().model });
  const countTokens = (usage: { promptTokens: number; completionTokens: number }) => {
    metrics.llmTokens.inc({ ...labels(), kind: 'prompt' }, usage.promptTokens);
    metrics.llmTokens.inc({ ...labels(), kind: 'completion' }, usage.completionTokens);
  };

  return {
    async classifyIntent({ text }: { text: string }) {
      const result = await timed(metrics.llmCalls, labels(), () => classifyIntentWithLlm(client(), text));
      await recordRunEvent(db, 'intent', { intent: result.intent, confidence: result.confidence });
      return { name: result.intent, confidence: result.confidence };
    },

    async planNextStep({ messages }: { workflowId: string; messages: ChatMessage[] }): Promise<PlannedStep> {
      const specs = tools.list();
      const result = await timed(metrics.llmCalls, labels(), () =>
        client().chat({
          messages: [{ role: 'system', content: SYSTEM_PROMPT }, ...messages],
          tools: specs.length ? specs : undefined,
        }),
      );
      countTokens(result.usage);
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
