// The transcript as Conduit remembers it, for people to read (the console's conversation view): the conversation,
// its messages both ways as stored (placeholders instead of personal data under TRANSCRIPT_ANONYMISE), and the
// running summary with the time it covers. Read-only; who may read it is the caller's check.
import { count, desc, eq } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { conversations, messages } from '../db/schema.js';
import { readSummary, type Summary } from './memory.js';

/** Most messages shown at once: the oldest beyond it are left out and counted. */
export const TRANSCRIPT_PAGE = 500;

export interface TranscriptMessage {
  id: string;
  workflowId: string;
  at: Date;
  direction: 'in' | 'out';
  senderId: string;
  senderName: string | null;
  text: string;
}

export interface Transcript {
  conversation: typeof conversations.$inferSelect;
  summary?: Summary;
  /** Oldest first: the newest TRANSCRIPT_PAGE messages. */
  messages: TranscriptMessage[];
  /** Older messages not in `messages`. */
  omitted: number;
}

/**
 * The conversation a run's message was recorded in, found by the inbound message's key (`<workflow id>:in`,
 * transcript.ts); undefined when the run recorded none (refused before it parsed the message, or purged).
 */
export async function conversationOfRun(db: Database, workflowId: string): Promise<string | undefined> {
  const [row] = await db
    .select({ conversationId: messages.conversationId })
    .from(messages)
    .where(eq(messages.id, `${workflowId}:in`));
  return row?.conversationId;
}

export async function readTranscript(
  db: Database,
  conversationId: string,
  limit = TRANSCRIPT_PAGE,
): Promise<Transcript | undefined> {
  const [conversation] = await db.select().from(conversations).where(eq(conversations.id, conversationId));
  if (!conversation) return undefined;
  const newest = await db
    .select({
      id: messages.id,
      workflowId: messages.workflowId,
      at: messages.createdAt,
      direction: messages.direction,
      senderId: messages.senderId,
      senderName: messages.senderName,
      text: messages.text,
    })
    .from(messages)
    .where(eq(messages.conversationId, conversationId))
    .orderBy(desc(messages.createdAt), desc(messages.id))
    .limit(limit);
  const [{ total } = { total: 0 }] = await db
    .select({ total: count() })
    .from(messages)
    .where(eq(messages.conversationId, conversationId));
  return {
    conversation,
    summary: await readSummary(db, conversationId),
    messages: newest.reverse(),
    omitted: Math.max(0, total - newest.length),
  };
}
