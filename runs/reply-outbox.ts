// Record-then-send for a run's replies: the outbox row is written before the message leaves and marked sent
// after, under a stable key, so a retried or replayed send finds "sent" and posts nothing twice. The key also
// goes to platforms that de-duplicate themselves (Feishu's reply uuid). The sending itself is the caller's.
import { eq, sql } from 'drizzle-orm';
import type { SentMessageRef } from '../core/message.js';
import type { Database } from '../db/client.js';
import { replyOutbox } from '../db/schema.js';

export interface OutboxEntry {
  key: string;
  workflowId: string;
  channel: string;
  kind: 'final' | 'progress' | 'reminder';
  /** The text as the outbox keeps it (anonymised when transcripts are). */
  storedText: string;
}

export type OutboxResult = { sent: SentMessageRef; duplicate: boolean };

/** Sends at most once per key: `send` runs only when no earlier attempt was marked sent. */
export async function sendOnce(
  db: Database,
  entry: OutboxEntry,
  send: (idempotencyKey: string) => Promise<SentMessageRef>,
): Promise<OutboxResult> {
  const { key } = entry;
  await db
    .insert(replyOutbox)
    .values({ key, workflowId: entry.workflowId, channel: entry.channel, kind: entry.kind, text: entry.storedText })
    .onConflictDoNothing();
  const [row] = await db.select().from(replyOutbox).where(eq(replyOutbox.key, key));
  if (row?.status === 'sent') {
    return { sent: { channel: entry.channel, platformMessageId: row.platformMessageId ?? undefined }, duplicate: true };
  }
  await db
    .update(replyOutbox)
    .set({ attempts: sql`${replyOutbox.attempts} + 1` })
    .where(eq(replyOutbox.key, key));
  const sent = await send(key);
  await db
    .update(replyOutbox)
    .set({ status: 'sent', sentAt: new Date(), platformMessageId: sent.platformMessageId })
    .where(eq(replyOutbox.key, key));
  return { sent, duplicate: false };
}
