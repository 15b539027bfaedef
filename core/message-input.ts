// The message fields a client of Conduit's own API sends (POST /v1/messages, a WebSocket `message` frame, gRPC
// SendMessage, a schedule's message): one schema, so the doors cannot drift, and the one way such input becomes
// the canonical message.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { InboundMessage } from './message.js';

const idPattern = /^[\w.:@-]{1,128}$/;

export const messageInputSchema = z.object({
  message_id: z.string().regex(idPattern).optional().describe('Your id for the message; a repeat returns the same run'),
  conversation_id: z.string().regex(idPattern),
  conversation_type: z.enum(['direct', 'group']).default('direct'),
  sender: z.object({ id: z.string().regex(idPattern), name: z.string().max(200).optional() }),
  text: z.string().min(1).max(32_000),
});

export type MessageInput = z.infer<typeof messageInputSchema>;

/** The canonical message of an API client's input; without a `message_id`, each call is a new message. */
export function toInboundMessage(channel: string, input: MessageInput, now: Date): InboundMessage {
  return {
    channel,
    messageId: input.message_id ?? randomUUID(),
    conversationId: input.conversation_id,
    conversationType: input.conversation_type,
    sender: input.sender,
    text: input.text,
    mentions: [],
    attachments: [],
    sentAt: now.toISOString(),
    // Conduit's own channels need nothing to answer: the reply reaches the client through the run's events
    // (WebSocket, gRPC) or the run's status (the API).
    replyTarget: { channel, data: {} },
  };
}
