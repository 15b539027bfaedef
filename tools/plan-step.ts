// The plan step's decision: the model, given the system prompt and every registered tool, answers or asks for
// tool calls. Each requested tool's policy (timeout, sensitivity, attempts) travels back with the plan, so the
// workflow gives every tool call its own activity options. Prompt and tool changes need no workflow patch.
import type { AssistantMessage, ChatMessage, ChatResult, LlmClient } from '../llm/types.js';
import type { ToolRegistry } from './registry.js';

export interface ToolPolicy {
  timeoutMs: number;
  sensitive: boolean;
  maxAttempts: number;
  /** The tool is pure (ToolDefinition.pure): the workflow may run it as a local activity. */
  local?: boolean;
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

/** One model turn of the tool loop; `call` is the model's answer as billed, for usage records. */
export async function planNextStep(
  model: LlmClient,
  tools: ToolRegistry,
  messages: ChatMessage[],
): Promise<{ step: PlannedStep; call: ChatResult }> {
  const specs = tools.list();
  const call = await model.chat({
    messages: [{ role: 'system', content: SYSTEM_PROMPT }, ...messages],
    tools: specs.length ? specs : undefined,
  });
  const policies: Record<string, ToolPolicy> = {};
  for (const toolCall of call.message.toolCalls) {
    const tool = tools.get(toolCall.name);
    if (tool) {
      policies[toolCall.name] = {
        timeoutMs: tool.timeoutMs,
        sensitive: tool.sensitive,
        maxAttempts: DEFAULT_TOOL_ATTEMPTS,
        ...(tool.pure ? { local: true } : {}),
      };
    }
  }
  return { step: { assistant: call.message, tools: policies }, call };
}
