// The transcript: each conversation once (keyed `channel:externalId`), and the messages said in it, inbound and
// outbound, each written once under a stable id so a retried activity records nothing twice. With
// TRANSCRIPT_ANONYMISE the stored copy has personal data replaced by placeholders for good.
import { eq, sql } from 'drizzle-orm';
import type { InboundMessage } from '../core/message.js';
import type { Database } from '../db/client.js';
import { type AlongsideWrite, placeholderValue, preparedPerDatabase } from '../db/prepared.js';
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
 * first recorded, so history read back for it stops before it on every retry. One statement for the three: the
 * message's foreign key is checked at its end, after the conversation's row is written.
 */
export async function recordInboundMessage(
  db: Database,
  input: { workflowId: string; message: InboundMessage; text: string; anonymise: boolean },
): Promise<{ conversationId: string; recordedAt: Date }> {
  const { workflowId, message } = input;
  const conversationId = conversationKey(message);
  const id = `${workflowId}:in`;
  const [recorded] = await recordConversationAndMessage(db).execute({
    conversationId,
    channel: message.channel,
    externalId: message.conversationId,
    type: message.conversationType,
    now: new Date().toISOString(),
    id,
    workflowId,
    senderId: message.sender.id,
    senderName: message.sender.name ?? null,
    text: storedText(input.text, input.anonymise),
  });
  // An attempt running beside ours committed the row after our snapshot was taken: read it now.
  const [committed] = recorded ? [recorded] : await readMessageTime(db).execute({ id });
  return { conversationId, recordedAt: committed?.createdAt ?? new Date() };
}

const recordConversationAndMessage = preparedPerDatabase((db) => {
  const conversation = db.$with('conversation').as(
    db
      .insert(conversations)
      .values({
        id: sql.placeholder('conversationId'),
        channel: sql.placeholder('channel'),
        externalId: sql.placeholder('externalId'),
        type: sql.placeholder('type'),
      })
      .onConflictDoUpdate({ target: conversations.id, set: { lastMessageAt: placeholderValue('now') } }),
  );
  const inserted = db.$with('inserted').as(
    db
      .insert(messages)
      .values({
        id: sql.placeholder('id'),
        conversationId: sql.placeholder('conversationId'),
        workflowId: sql.placeholder('workflowId'),
        direction: 'in',
        senderId: sql.placeholder('senderId'),
        senderName: sql.placeholder('senderName'),
        text: sql.placeholder('text'),
      })
      .onConflictDoNothing()
      .returning({ createdAt: messages.createdAt }),
  );
  // The new row's time comes from the insert; a retry's, from the row an earlier attempt wrote (the statement's
  // snapshot sees that one, never the row its own insert adds). A CTE of its own: PostgreSQL takes data-modifying
  // CTEs only at the top of the statement, and drizzle puts each side of a union in parentheses.
  const recordedTimes = db.$with('recorded').as(
    db
      .select({ createdAt: inserted.createdAt })
      .from(inserted)
      .unionAll(
        db
          .select({ createdAt: messages.createdAt })
          .from(messages)
          .where(eq(messages.id, sql.placeholder('id'))),
      ),
  );
  return db.with(conversation, inserted, recordedTimes).select().from(recordedTimes).prepare('record_inbound_message');
});

const readMessageTime = preparedPerDatabase((db) =>
  db
    .select({ createdAt: messages.createdAt })
    .from(messages)
    .where(eq(messages.id, sql.placeholder('id')))
    .prepare('read_message_time'),
);

/**
 * Records what Conduit said in a conversation, once per id (the reply's outbox key). `alongside` is a write the
 * caller makes right after (the run's reply event), sent in this statement to save a round trip.
 */
export async function recordOutboundMessage(
  db: Database,
  input: { id: string; conversationId: string; workflowId: string; text: string; anonymise: boolean },
  alongside?: AlongsideWrite,
): Promise<void> {
  await insertOutbound(db, { alongside }).execute({
    id: input.id,
    conversationId: input.conversationId,
    workflowId: input.workflowId,
    text: storedText(input.text, input.anonymise),
    ...alongside?.values,
  });
}

const insertOutbound = preparedPerDatabase((db, { alongside }) =>
  (alongside ? db.with(alongside.cte(db)) : db)
    .insert(messages)
    .values({
      id: sql.placeholder('id'),
      conversationId: sql.placeholder('conversationId'),
      workflowId: sql.placeholder('workflowId'),
      direction: 'out',
      senderId: 'conduit',
      text: sql.placeholder('text'),
    })
    .onConflictDoNothing()
    .prepare('insert_outbound_message'),
);
