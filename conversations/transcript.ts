// The transcript: each conversation once (keyed `channel:externalId`), and the messages said in it, inbound and
// outbound, each written once under a stable id so a retried activity records nothing twice. With
// TRANSCRIPT_ANONYMISE the stored copy has personal data replaced by placeholders for good.
import { eq } from 'drizzle-orm';
import type { InboundMessage } from '../core/message.js';
import type { Database } from '../db/client.js';
import { conversations, messages } from '../db/schema.js';
import { maskPii } from '../pii/masking.js';

/** The conversations-table key of the conversation a message belongs to. */
export const conversationKey = (message: Pick<InboundMessage, 'channel' | 'conversationId'>) =>
  `${message.channel}:${message.conversationId}`;

/** The transcript's copy of a text: with TRANSCRIPT_ANONYMISE, personal data becomes placeholders for good. */
export const storedText = (text: string, anonymise: boolean) =>
  anonymise ? maskPii(text, { reversible: false }).text : text;

/**
 * Records the conversation (or touches it) and the run's inbound message; resolves to the time the message was
 * first recorded, so history read back for it stops before it on every retry.
 */
export async function recordInboundMessage(
  db: Database,
  input: { workflowId: string; message: InboundMessage; text: string; anonymise: boolean },
): Promise<{ conversationId: string; recordedAt: Date }> {
  const { workflowId, message } = input;
  const conversationId = conversationKey(message);
  await db
    .insert(conversations)
    .values({
      id: conversationId,
      channel: message.channel,
      externalId: message.conversationId,
      type: message.conversationType,
    })
    .onConflictDoUpdate({ target: conversations.id, set: { lastMessageAt: new Date() } });
  const id = `${workflowId}:in`;
  await db
    .insert(messages)
    .values({
      id,
      conversationId,
      workflowId,
      direction: 'in',
      senderId: message.sender.id,
      senderName: message.sender.name,
      text: storedText(input.text, input.anonymise),
    })
    .onConflictDoNothing();
  const [recorded] = await db.select({ createdAt: messages.createdAt }).from(messages).where(eq(messages.id, id));
  return { conversationId, recordedAt: recorded?.createdAt ?? new Date() };
}

/** Records what Conduit said in a conversation, once per id (the reply's outbox key). */
export async function recordOutboundMessage(
  db: Database,
  input: { id: string; conversationId: string; workflowId: string; text: string; anonymise: boolean },
): Promise<void> {
  await db
    .insert(messages)
    .values({
      id: input.id,
      conversationId: input.conversationId,
      workflowId: input.workflowId,
      direction: 'out',
      senderId: 'conduit',
      text: storedText(input.text, input.anonymise),
    })
    .onConflictDoNothing();
}
