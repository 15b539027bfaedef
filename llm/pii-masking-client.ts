// Wraps an LlmClient so personal data never leaves for a remote model: every outgoing message is masked
// with placeholders first. In reversible mode the placeholders in the model's answer and tool-call arguments
// are restored inside the same call, so replies and tools see real values while the vendor never does;
// in irreversible mode the model's output keeps the placeholders.
import { maskPii, type PiiVault, unmaskPii } from '../pii/masking.js';
import type { AssistantMessage, ChatMessage, LlmClient } from './types.js';

export interface PiiMaskingOptions {
  reversible: boolean;
}

function maskMessages(messages: ChatMessage[], reversible: boolean): { messages: ChatMessage[]; vault: PiiVault } {
  // One vault across the whole request: the same value gets the same placeholder in every message.
  let vault: PiiVault = {};
  const mask = (text: string) => {
    const masked = maskPii(text, { reversible: true, vault });
    vault = masked.vault;
    return masked.text;
  };
  const masked = messages.map((message): ChatMessage => {
    switch (message.role) {
      case 'assistant':
        return {
          ...message,
          content: mask(message.content),
          toolCalls: message.toolCalls?.map((call) => ({ ...call, arguments: mask(call.arguments) })),
        };
      default:
        return { ...message, content: mask(message.content) };
    }
  });
  return { messages: masked, vault: reversible ? vault : {} };
}

function restore(message: AssistantMessage, vault: PiiVault): AssistantMessage {
  if (Object.keys(vault).length === 0) return message;
  return {
    content: unmaskPii(message.content, vault),
    toolCalls: message.toolCalls.map((call) => ({ ...call, arguments: unmaskPii(call.arguments, vault) })),
  };
}

export function withPiiMasking(client: LlmClient, options: PiiMaskingOptions): LlmClient {
  return {
    provider: client.provider,
    model: client.model,
    async chat(request, chatOptions) {
      const { messages, vault } = maskMessages(request.messages, options.reversible);
      const result = await client.chat({ ...request, messages }, chatOptions);
      return { ...result, message: restore(result.message, vault) };
    },
  };
}
