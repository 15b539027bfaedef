// Record-then-send for a run's replies: the outbox row is written before the message leaves and marked sent
// after, under a stable key, so a retried or replayed send finds "sent" and posts nothing twice. The key also
// goes to platforms that de-duplicate themselves (Feishu's reply uuid).
//
// Replies of one conversation leave in the order they were recorded, also after the platform's send API was
// down for a while and every run's reply is retrying on its own backoff: a reply is sent only once every earlier
// pending reply of its conversation is sent (or refused for good), and whoever gets there first sends the earlier
// ones itself, from the request kept in their rows. One sender at a time per row: a sender claims the row, and a
// claim runs out when its holder dies. The sending itself is the caller's.
import { and, asc, eq, isNull, lt, or, type Placeholder, type SQL, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { ConduitError, UpstreamError } from '../core/errors.js';
import type { OutboundReply, ReplyTarget, SentMessageRef } from '../core/message.js';
import type { Database } from '../db/client.js';
import { placeholderValue, preparedPerDatabase } from '../db/prepared.js';
import { replyOutbox } from '../db/schema.js';

/**
 * How long a sender holds a row: as long as one attempt of the reply activity may run (its start-to-close), so
 * a retry does not take the row while the attempt it replaces may still be sending. An attempt that runs past
 * it can still send a second time: the outbox narrows that window, the platform's own de-duplication (Feishu's
 * uuid) closes it where there is one.
 */
const CLAIM_MS = 30_000;
/** How long a reply waits for another sender to finish an earlier reply before its attempt gives up. */
const MAX_WAIT_MS = 20_000;
const WAIT_STEP_MS = 200;
/**
 * How long a sender keeps trying to record a reply it has sent, well past its claim: while the database is down no
 * other sender can take the row either, and once it is back these tries (at most RECORD_SENT_MAX_PAUSE_MS apart)
 * usually mark it before a retry of the run (seconds apart) claims it. A sender that dies meanwhile leaves the
 * reply to be sent again, as before.
 */
const RECORD_SENT_MS = 10 * 60_000;
const RECORD_SENT_FIRST_PAUSE_MS = 100;
const RECORD_SENT_MAX_PAUSE_MS = 500;
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
  // The first pass takes the row as recording it found it; every later pass reads it afresh.
  let recorded = await recordEntry(db, entry);
  const waitUntil = Date.now() + MAX_WAIT_MS;
  for (;;) {
    const own = recorded ?? (await db.select().from(replyOutbox).where(eq(replyOutbox.key, key)))[0];
    recorded = undefined;
    if (!own) throw new Error(`reply outbox row ${key} is missing`);
    if (own.status === 'sent') {
      return { sent: { channel: own.channel, platformMessageId: own.platformMessageId ?? undefined }, duplicate: true };
    }
    if (own.status === 'failed') {
      throw new UpstreamError(`${own.channel} refused reply ${key} for good`, { retryable: false });
    }
    // The earliest pending reply of the conversation (ours when it is first, or has no conversation), found and
    // claimed in one statement.
    const claimed = await claim(db, own);
    if (!claimed) {
      // Someone else is sending it (an earlier attempt of ours whose claim has not run out, or another reply).
      if (Date.now() > waitUntil) {
        const next = (own.conversation && (await earliestPending(db, own))) || own;
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
    await recordSent(db, claimed.key, sent);
    sender.onSent?.({ key: claimed.key, channel: claimed.channel, kind: claimed.kind });
    if (claimed.key === key) return { sent, duplicate: false };
  }
}

/**
 * Marks the row sent, trying again while the database is unreachable: the reply is out, and a row left pending is
 * claimed again by the run's next attempt once its claim runs out, and sent a second time. Gives up, and lets the
 * attempt fail, only after RECORD_SENT_MS.
 */
async function recordSent(db: Database, key: string, sent: SentMessageRef): Promise<void> {
  const giveUpAt = Date.now() + RECORD_SENT_MS;
  for (let pause = RECORD_SENT_FIRST_PAUSE_MS; ; pause = Math.min(pause * 2, RECORD_SENT_MAX_PAUSE_MS)) {
    try {
      await markSent(db).execute({
        key,
        sentAt: new Date().toISOString(),
        platformMessageId: sent.platformMessageId ?? null,
      });
      return;
    } catch (error) {
      if (Date.now() + pause > giveUpAt) throw error;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

const markSent = preparedPerDatabase((db) =>
  db
    .update(replyOutbox)
    .set({
      status: 'sent',
      sentAt: placeholderValue('sentAt'),
      platformMessageId: placeholderValue('platformMessageId'),
      claimedUntil: null,
      request: null,
    })
    // A sender whose claim ran out and whose row another sent meanwhile leaves that record as it is.
    .where(and(eq(replyOutbox.key, sql.placeholder('key')), eq(replyOutbox.status, 'pending')))
    .prepare('mark_reply_sent'),
);

/**
 * Writes the entry's row unless it is there, and reads it back in the same statement: the new row from the insert,
 * or the row an earlier attempt wrote (the statement's snapshot sees that one, never the row its own insert adds).
 * Undefined only when an attempt running beside ours committed the row after that snapshot: read it again.
 */
async function recordEntry(db: Database, entry: OutboxEntry): Promise<Row | undefined> {
  const [row] = await insertEntry(db).execute({
    key: entry.key,
    workflowId: entry.workflowId,
    channel: entry.channel,
    kind: entry.kind,
    text: entry.storedText,
    conversation: entry.conversation ?? null,
    request: entry.request,
  });
  return row;
}

const insertEntry = preparedPerDatabase((db) => {
  const inserted = db.$with('inserted').as(
    db
      .insert(replyOutbox)
      .values({
        key: sql.placeholder('key'),
        workflowId: sql.placeholder('workflowId'),
        channel: sql.placeholder('channel'),
        kind: sql.placeholder('kind'),
        text: sql.placeholder('text'),
        conversation: sql.placeholder('conversation'),
        request: sql.placeholder('request'),
      })
      .onConflictDoNothing()
      .returning(),
  );
  // A CTE of its own: PostgreSQL takes data-modifying CTEs only at the top of the statement, and drizzle puts
  // each side of a union in parentheses.
  const recorded = db.$with('recorded').as(
    db
      .select()
      .from(inserted)
      .unionAll(
        db
          .select()
          .from(replyOutbox)
          .where(eq(replyOutbox.key, sql.placeholder('key'))),
      ),
  );
  return db.with(inserted, recorded).select().from(recorded).prepare('record_reply');
});

/** The same table under another name, for reading it inside a statement that updates it. */
const earlier = alias(replyOutbox, 'earlier');

/**
 * The key of the first pending reply of the conversation (placeholder `conversation`), recorded at or before the
 * row keyed `ownKey` and within the order window.
 */
function earliestPendingQuery(db: Database) {
  const ownKey = sql.placeholder('ownKey');
  // Compared in SQL: created_at has microseconds, a JavaScript Date only milliseconds.
  const ownRecorded = sql`(select ${replyOutbox.createdAt} from ${replyOutbox} where ${replyOutbox.key} = ${ownKey})`;
  return db
    .select({ key: earlier.key })
    .from(earlier)
    .where(
      and(
        eq(earlier.conversation, sql.placeholder('conversation')),
        eq(earlier.status, 'pending'),
        sql`(${earlier.createdAt}, ${earlier.key}) <= (${ownRecorded}, ${ownKey})`,
        sql`${earlier.createdAt} > ${ownRecorded} - make_interval(secs => ${ORDER_WINDOW_MS / 1000})`,
      ),
    )
    .orderBy(asc(earlier.createdAt), asc(earlier.key))
    .limit(1);
}

const readEarliestPending = preparedPerDatabase((db) => earliestPendingQuery(db).prepare('earliest_pending_reply'));

/** Read on its own only to name, when an attempt gives up waiting, the reply it waited for. */
async function earliestPending(db: Database, own: Row): Promise<{ key: string } | undefined> {
  const [first] = await readEarliestPending(db).execute({ ownKey: own.key, conversation: own.conversation });
  return first;
}

/**
 * Takes the row for sending unless it is sent, refused, or claimed by a sender whose claim has not run out: the
 * row itself when it has no conversation, otherwise the earliest pending reply of its conversation (its own when it
 * is first), found in the same statement.
 * Times are the statement's own (clock_timestamp), not its transaction's start (now()): a claim that waited on a
 * lock must not commit already run out.
 */
async function claim(db: Database, own: Row): Promise<Row | undefined> {
  const inOrder = Boolean(own.conversation);
  const [row] = await claimStatement(db, { variant: inOrder ? 'in-order' : 'own' }).execute(
    inOrder ? { ownKey: own.key, conversation: own.conversation } : { ownKey: own.key },
  );
  return row;
}

const claimStatement = preparedPerDatabase((db, { variant }) => {
  const ownKey = sql.placeholder('ownKey');
  const key: SQL | Placeholder =
    variant === 'in-order' ? sql`coalesce((${earliestPendingQuery(db)}), ${ownKey})` : ownKey;
  return db
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
    .returning()
    .prepare('claim_reply');
});
