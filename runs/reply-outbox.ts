// Record-then-send for a run's replies: the outbox row is written before the message leaves and marked sent
// after, under a stable key, so a retried or replayed send finds "sent" and posts nothing twice. The key also
// goes to platforms that de-duplicate themselves (Feishu's reply uuid).
//
// Replies of one conversation leave in the order they were recorded, also after the platform's send API was
// down for a while and every run's reply is retrying on its own backoff: a reply is sent only once every earlier
// pending reply of its conversation is sent (or refused for good), and whoever gets there first sends the earlier
// ones itself, from the request kept in their rows. One sender at a time per row: a sender claims the row, and a
// claim runs out when its holder dies. The sending itself is the caller's.
import { and, asc, eq, isNull, lt, or, sql } from 'drizzle-orm';
import { ConduitError, UpstreamError } from '../core/errors.js';
import type { OutboundReply, ReplyTarget, SentMessageRef } from '../core/message.js';
import type { Database } from '../db/client.js';
import { replyOutbox } from '../db/schema.js';

/**
 * How long a sender holds a row: as long as one attempt of the reply activity may run (its start-to-close), so
 * a retry does not take the row while the attempt it replaces may still be sending. An attempt that runs past
 * it can still send a second time: the outbox narrows that window, the platform's own de-duplication (Feishu's
 * uuid) closes it where there is one.
 */
const CLAIM_MS = 30_000;
/** Marking a sent reply is tried again for at least this long, even when the claim has run out meanwhile. */
const MARK_SENT_MIN_MS = 5_000;
/** How long a reply waits for another sender to finish an earlier reply before its attempt gives up. */
const MAX_WAIT_MS = 20_000;
const WAIT_STEP_MS = 200;
/**
 * An earlier reply still pending after this long is not waited for: its run's retries (about an hour) are over,
 * so it will not be sent, and a conversation must not fall silent behind it.
 */
export const ORDER_WINDOW_MS = 65 * 60_000;

export interface OutboxRequest {
  target: ReplyTarget;
  reply: OutboundReply;
}

export interface OutboxEntry {
  key: string;
  workflowId: string;
  channel: string;
  kind: 'final' | 'progress' | 'reminder';
  /** The text as the outbox keeps it (anonymised when transcripts are). */
  storedText: string;
  /** The conversation whose replies keep their order; none: sent on its own, as soon as it can be. */
  conversation?: string;
  request: OutboxRequest;
}

export type OutboxResult = { sent: SentMessageRef; duplicate: boolean };

export interface OutboxSender {
  /** Sends one recorded reply (this entry's or an earlier one of its conversation) under its key. */
  send(request: OutboxRequest, idempotencyKey: string): Promise<SentMessageRef>;
  /** Called for every reply this call sent, earlier ones of the conversation included. */
  onSent?(row: { key: string; channel: string; kind: OutboxEntry['kind'] }): void;
}

type Row = typeof replyOutbox.$inferSelect;

/** Sends at most once per key, after every earlier pending reply of the same conversation. */
export async function sendOnce(db: Database, entry: OutboxEntry, sender: OutboxSender): Promise<OutboxResult> {
  const { key } = entry;
  await db
    .insert(replyOutbox)
    .values({
      key,
      workflowId: entry.workflowId,
      channel: entry.channel,
      kind: entry.kind,
      text: entry.storedText,
      conversation: entry.conversation,
      request: entry.request,
    })
    .onConflictDoNothing();
  const waitUntil = Date.now() + MAX_WAIT_MS;
  for (;;) {
    const [own] = await db.select().from(replyOutbox).where(eq(replyOutbox.key, key));
    if (!own) throw new Error(`reply outbox row ${key} is missing`);
    if (own.status === 'sent') {
      return { sent: { channel: own.channel, platformMessageId: own.platformMessageId ?? undefined }, duplicate: true };
    }
    if (own.status === 'failed') {
      throw new UpstreamError(`${own.channel} refused reply ${key} for good`, { retryable: false });
    }
    const next = (own.conversation && (await earliestPending(db, own))) || own;
    const claimed = await claim(db, next.key);
    if (!claimed) {
      // Someone else is sending it (an earlier attempt of ours whose claim has not run out, or another reply).
      if (Date.now() > waitUntil) {
        throw new UpstreamError(`reply ${key} waits for reply ${next.key} of its conversation to be sent`, {
          retryable: true,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
      continue;
    }
    // An earlier row without its request (recorded before requests were kept) cannot be sent from here.
    const request = claimed.key === key ? entry.request : claimed.request;
    if (!request) {
      await db
        .update(replyOutbox)
        .set({ status: 'failed', claimedUntil: null })
        .where(eq(replyOutbox.key, claimed.key));
      continue;
    }
    let sent: SentMessageRef;
    try {
      sent = await sender.send(request, claimed.key);
    } catch (error) {
      const permanent = error instanceof ConduitError && !error.retryable;
      await db
        .update(replyOutbox)
        .set(permanent ? { status: 'failed', claimedUntil: null, request: null } : { claimedUntil: null })
        .where(eq(replyOutbox.key, claimed.key));
      // A reply refused for good no longer holds its conversation back; ours is tried next.
      if (permanent && claimed.key !== key) continue;
      throw error;
    }
    await markSent(db, claimed, sent);
    sender.onSent?.({ key: claimed.key, channel: claimed.channel, kind: claimed.kind });
    if (claimed.key === key) return { sent, duplicate: false };
  }
}

/**
 * Records a send that happened. It cannot be taken back, so a database error here (a connection refused, the
 * server out of connections) must not end the attempt: the retry would find the row pending and send it again.
 * Tried again while the claim holds, since nobody else sends the row meanwhile; only a database away for longer
 * fails the attempt, and then the reply may go out twice.
 */
async function markSent(db: Database, claimed: Row, sent: SentMessageRef): Promise<void> {
  const until = Math.max(claimed.claimedUntil?.getTime() ?? 0, Date.now() + MARK_SENT_MIN_MS);
  for (let pause = 100; ; pause = Math.min(pause * 2, 2_000)) {
    try {
      await db
        .update(replyOutbox)
        .set({
          status: 'sent',
          sentAt: new Date(),
          platformMessageId: sent.platformMessageId,
          claimedUntil: null,
          request: null,
        })
        // A sender whose claim ran out and whose row another sent meanwhile leaves that record as it is.
        .where(and(eq(replyOutbox.key, claimed.key), eq(replyOutbox.status, 'pending')));
      return;
    } catch (error) {
      if (Date.now() + pause > until) throw error;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

/** The first pending reply of the row's conversation, recorded at or before it and within the order window. */
async function earliestPending(db: Database, own: Row): Promise<Row | undefined> {
  // Compared in SQL: created_at has microseconds, a JavaScript Date only milliseconds.
  const ownRecorded = sql`(select ${replyOutbox.createdAt} from ${replyOutbox} where ${replyOutbox.key} = ${own.key})`;
  const [first] = await db
    .select()
    .from(replyOutbox)
    .where(
      and(
        eq(replyOutbox.conversation, own.conversation!),
        eq(replyOutbox.status, 'pending'),
        sql`(${replyOutbox.createdAt}, ${replyOutbox.key}) <= (${ownRecorded}, ${own.key})`,
        sql`${replyOutbox.createdAt} > ${ownRecorded} - make_interval(secs => ${ORDER_WINDOW_MS / 1000})`,
      ),
    )
    .orderBy(asc(replyOutbox.createdAt), asc(replyOutbox.key))
    .limit(1);
  return first;
}

/**
 * Takes the row for sending unless it is sent, refused, or claimed by a sender whose claim has not run out.
 * Times are the statement's own (clock_timestamp), not its transaction's start (now()): a claim that waited on a
 * lock must not commit already run out.
 */
async function claim(db: Database, key: string): Promise<Row | undefined> {
  const [row] = await db
    .update(replyOutbox)
    .set({
      claimedUntil: sql`clock_timestamp() + make_interval(secs => ${CLAIM_MS / 1000})`,
      attempts: sql`${replyOutbox.attempts} + 1`,
    })
    .where(
      and(
        eq(replyOutbox.key, key),
        eq(replyOutbox.status, 'pending'),
        or(isNull(replyOutbox.claimedUntil), lt(replyOutbox.claimedUntil, sql`clock_timestamp()`)),
      ),
    )
    .returning();
  return row;
}
