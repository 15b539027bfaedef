// Pure decisions for the bounded tool-calling loop that the message workflow drives. Workflow code imports
// this, so it stays deterministic: type-only imports, no I/O, no clock, no node: modules.
import type { AssistantMessage, ChatMessage, ToolCall } from './types.js';

/** Largest tool result handed back to the model, in UTF-8 bytes including the truncation marker. */
export const MAX_TOOL_RESULT_BYTES = 8 * 1024;

export interface ToolLoopState {
  messages: ChatMessage[];
}

export type LoopAction =
  | { kind: 'call_tools'; calls: ToolCall[] }
  | { kind: 'final'; text: string }
  | { kind: 'step_limit'; text: string };

export function buildInitialMessages(systemPrompt: string, history: ChatMessage[], userText: string): ChatMessage[] {
  const earlier = history.filter((message) => message.role !== 'system');
  return [{ role: 'system', content: systemPrompt }, ...earlier, { role: 'user', content: userText }];
}

export function appendAssistantTurn(messages: ChatMessage[], assistant: AssistantMessage): ChatMessage[] {
  const turn: ChatMessage =
    assistant.toolCalls.length > 0
      ? { role: 'assistant', content: assistant.content, toolCalls: assistant.toolCalls.map((call) => ({ ...call })) }
      : { role: 'assistant', content: assistant.content };
  return [...messages, turn];
}

export function appendToolResult(
  messages: ChatMessage[],
  toolCallId: string,
  name: string,
  result: unknown,
): ChatMessage[] {
  return [
    ...messages,
    { role: 'tool', toolCallId, name, content: truncateUtf8(serialize(result), MAX_TOOL_RESULT_BYTES) },
  ];
}

/** Tool-calling turns since the latest user message: one step is one model turn that asked for tools. */
export function countToolSteps(messages: ChatMessage[]): number {
  let steps = 0;
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    const message = messages[index]!;
    if (message.role === 'user') break;
    if (message.role === 'assistant' && message.toolCalls && message.toolCalls.length > 0) steps += 1;
  }
  return steps;
}

/** Decides what follows the assistant turn just appended; at most `maxSteps` tool-calling turns run. */
export function nextLoopAction(state: ToolLoopState, maxSteps: number): LoopAction {
  const last = state.messages.at(-1);
  if (last?.role !== 'assistant') {
    throw new Error('nextLoopAction expects the latest message to be an assistant turn');
  }
  if (!last.toolCalls || last.toolCalls.length === 0) return { kind: 'final', text: last.content };
  if (countToolSteps(state.messages) > maxSteps) {
    const text =
      last.content.trim() !== ''
        ? last.content
        : `I stopped after ${maxSteps} tool steps without reaching an answer. Please narrow the request and try again.`;
    return { kind: 'step_limit', text };
  }
  return { kind: 'call_tools', calls: last.toolCalls };
}

function serialize(result: unknown): string {
  if (result === undefined) return 'null';
  try {
    return JSON.stringify(result) ?? 'null';
  } catch {
    return JSON.stringify(String(result));
  }
}

function truncateUtf8(text: string, maxBytes: number): string {
  const total = utf8Length(text);
  if (total <= maxBytes) return text;
  // The marker's own length depends on the number it reports; a generous budget for it keeps this one pass.
  const budget = maxBytes - 64;
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = utf8Length(char);
    if (bytes + size > budget) break;
    bytes += size;
    end += char.length;
  }
  return `${text.slice(0, end)}…[truncated ${total - bytes} of ${total} bytes]`;
}

/** Counted by hand because TextEncoder is not guaranteed inside the workflow sandbox. */
function utf8Length(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}
