// Wraps an LlmClient so personal data never leaves for a remote model: every outgoing message is masked
// with placeholders first. Tool-call arguments are always restored inside the same call: the tools run here,
// on values the sender gave, and a URL with the sender's IP address must reach http_get as that address, not
// as [IP_1]. The model's answer text is restored only in reversible mode; otherwise it keeps the placeholders.
import { maskPii, type PiiVault, unmaskPii } from '../pii/masking.js';
import type { AssistantMessage, ChatMessage, LlmClient } from './types.js';

export interface PiiMaskingOptions {
  reversible: boolean;
}

function maskMessages(messages: ChatMessage[]): { messages: ChatMessage[]; vault: PiiVault } {
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
  return { messages: masked, vault };
}

function restore(message: AssistantMessage, vault: PiiVault, reversible: boolean): AssistantMessage {
  if (Object.keys(vault).length === 0) return message;
  return {
    content: reversible ? unmaskPii(message.content, vault) : message.content,
    toolCalls: message.toolCalls.map((call) => ({ ...call, arguments: unmaskPii(call.arguments, vault) })),
  };
}

export function withPiiMasking(client: LlmClient, options: PiiMaskingOptions): LlmClient {
  return {
    provider: client.provider,
    model: client.model,
    async chat(request, chatOptions) {
      const { messages, vault } = maskMessages(request.messages);
      const result = await client.chat({ ...request, messages }, chatOptions);
      return { ...result, message: restore(result.message, vault, options.reversible) };
    },
  };
}
