// Conversation memory: a rolling window of recent messages within a token budget, plus a running summary of
// everything older that the model compacts when the window overflows. Each compaction also writes a
// transcript snapshot to the object store, so the summary never is the only copy of what was said.
import { and, asc, desc, eq, gt, lt, sql } from 'drizzle-orm';
import { UnavailableError } from '../core/errors.js';
import { encodeKeyPart, hasLoneSurrogate } from '../core/key-encoding.js';
import { estimateTokens } from '../core/tokens.js';
import type { Database } from '../db/client.js';
import { type AlongsideWrite, preparedPerDatabase } from '../db/prepared.js';
import { memories, messages } from '../db/schema.js';
import type { ChatMessage, LlmClient } from '../llm/types.js';
import type { BlobStore } from '../storage/blob-store.js';

/** Most messages read back per run; the token budget usually binds first. */
export const HISTORY_MESSAGES = 40;
/** Messages kept verbatim after a compaction (the latest exchange), so the next turn reads naturally. */
export const KEEP_AFTER_COMPACTION = 2;

export interface Summary {
  text: string;
  /** ISO time of the newest message the summary covers, to the microsecond (older summaries: the millisecond). */
  coversUntil: string;
}

export interface ConversationContext {
  summary?: string;
  history: ChatMessage[];
  /** True when messages not covered by the summary exceed the budget: the run compacts after replying. */
  needsCompaction: boolean;
}

/** The conversation's running summary, if the model has compacted it yet. */
export async function readSummary(db: Database, conversationId: string): Promise<Summary | undefined> {
  const [row] = await db
    .select({ value: memories.value })
    .from(memories)
    .where(and(eq(memories.conversationId, conversationId), eq(memories.key, 'summary')));
  return row?.value as Summary | undefined;
}

const asChat = (row: { direction: 'in' | 'out'; text: string }): ChatMessage =>
  row.direction === 'in' ? { role: 'user', content: row.text } : { role: 'assistant', content: row.text };

/**
 * The summary and the recent messages before `before`, in one statement (a round trip per read showed in the
 * worker's profile): the summary's row, then the messages it does not cover, newest first. `alongside` is a write
 * the caller makes right after the read (the run's parse event), sent in this statement to save one more.
 */
export async function loadConversationContext(
  db: Database,
  conversationId: string,
  before: Date,
  tokenBudget: number,
  alongside?: AlongsideWrite,
): Promise<ConversationContext> {
  const rows = await readContext(db, { alongside }).execute({
    conversationId,
    before: before.toISOString(),
    ...alongside?.values,
  });
  const summaryRow = rows[0]?.kind === 'summary' ? rows[0] : undefined;
  const recent = rows.flatMap((row) => (row.kind === 'summary' ? [] : [{ direction: row.kind, text: row.text ?? '' }]));
  // Newest first: take messages while they fit the budget, then restore chronological order.
  const window: ChatMessage[] = [];
  const summaryText = summaryRow?.text ?? undefined;
  let used = estimateTokens(summaryText ?? '');
  for (const row of recent) {
    const cost = estimateTokens(row.text);
    if (used + cost > tokenBudget && window.length > 0) break;
    used += cost;
    window.push(asChat(row));
  }
  const uncoveredTokens = recent.reduce((sum, row) => sum + estimateTokens(row.text), 0);
  return {
    summary: summaryText,
    history: window.reverse(),
    needsCompaction: uncoveredTokens > tokenBudget || recent.length >= HISTORY_MESSAGES,
  };
}

const readContext = preparedPerDatabase((db, { alongside }) => {
  const conversationId = sql.placeholder('conversationId');
  const summary = db.$with('summary').as(
    db
      .select({
        text: sql<string | null>`${memories.value}->>'text'`.as('text'),
        coversUntil: sql`(${memories.value}->>'coversUntil')::timestamptz`.as('covers_until'),
      })
      .from(memories)
      .where(and(eq(memories.conversationId, conversationId), eq(memories.key, 'summary'))),
  );
  const uncovered = db
    .select({ kind: messages.direction, text: messages.text, at: messages.createdAt })
    .from(messages)
    .where(
      and(
        eq(messages.conversationId, conversationId),
        lt(messages.createdAt, sql.placeholder('before')),
        // Parsed from the summary's ISO time in SQL, microseconds included (compactHistory writes them).
        gt(messages.createdAt, sql`coalesce((select ${summary.coversUntil} from ${summary}), '-infinity')`),
      ),
    )
    .orderBy(desc(messages.createdAt))
    .limit(HISTORY_MESSAGES);
  // A CTE of its own: PostgreSQL takes the caller's data-modifying CTE only at the top of the statement, and
  // drizzle puts each side of a union in parentheses.
  const context = db.$with('context').as(
    db
      .select({
        kind: sql<'summary' | 'in' | 'out'>`'summary'`.as('kind'),
        text: sql<string | null>`${summary.text}`.as('text'),
        at: sql<Date | null>`null::timestamptz`.as('at'),
      })
      .from(summary)
      .unionAll(uncovered),
  );
  // The summary's row (no time) first, then the messages newest first.
  return db
    .with(...(alongside ? [alongside.cte(db)] : []), summary, context)
    .select({ kind: context.kind, text: context.text })
    .from(context)
    .orderBy(sql`${context.at} desc nulls first`)
    .prepare('read_conversation_context');
});

/**
 * Where a conversation's transcript snapshots live in the object store (erasing a user's data removes them). The
 * conversation id is encoded injectively (core/key-encoding.ts): `api:team:ops` and `api:team_3Aops` get two
 * prefixes, and neither is a prefix of the other's.
 */
export const memorySnapshotPrefix = (conversationId: string) => `memory/${encodeKeyPart(conversationId)}/`;

/**
 * The prefix snapshots were written under before the encoding was injective (`%` → `_`, so `team:ops` and
 * `team_3Aops` shared it). Objects under it are only ever matched by the conversation id stored inside them.
 */
export const legacyMemorySnapshotPrefix = (conversationId: string): string | undefined =>
  hasLoneSurrogate(conversationId) ? undefined : `memory/${encodeURIComponent(conversationId).replace(/%/g, '_')}/`;

const COMPACTION_PROMPT = [
  'Summarise the conversation below for an assistant that will continue it.',
  'Keep facts, decisions, names, numbers, open questions and commitments; drop pleasantries.',
  'At most 200 words, in the language the conversation is in. Answer with the summary only.',
].join(' ');

export interface CompactionDeps {
  db: Database;
  blobs: BlobStore;
  /** The model that writes the summary (the planning role's); unset when no model is configured. */
  model?: LlmClient;
}

/** Folds everything but the latest messages into the running summary. Idempotent: a retry finds less to fold. */
export async function compactHistory(
  { db, blobs, model }: CompactionDeps,
  conversationId: string,
): Promise<{ compacted: number }> {
  if (!model) throw new UnavailableError('no language model is configured');
  const previous = await readSummary(db, conversationId);
  const rows = await db
    .select({
      direction: messages.direction,
      text: messages.text,
      createdAt: messages.createdAt,
      // The exact time as text: created_at has microseconds, a JavaScript Date only milliseconds, and a boundary
      // rounded down would leave the newest folded message uncovered, to be read back and folded again.
      exactTime: sql<string>`to_char(${messages.createdAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
    })
    .from(messages)
    .where(
      and(
        eq(messages.conversationId, conversationId),
        ...(previous ? [gt(messages.createdAt, sql`${previous.coversUntil}::timestamptz`)] : []),
      ),
    )
    .orderBy(asc(messages.createdAt));
  const fold = rows
    .slice(0, Math.max(0, rows.length - KEEP_AFTER_COMPACTION))
    .map(({ direction, text, createdAt }) => ({ direction, text, createdAt }));
  if (fold.length === 0) return { compacted: 0 };
  const coversUntil = rows[fold.length - 1]!.exactTime;
  // The snapshot first: it does not depend on the summary, and a store that cannot take it (down, or its drive
  // full) then fails the attempt before the model is asked, so each retry of a long outage costs no model call over
  // the whole transcript (test/faults/prod-topology-disk-full.test.ts). The key is the same on a retry.
  await blobs.put(
    `${memorySnapshotPrefix(conversationId)}${coversUntil.replace(/[:.]/g, '-')}.json`,
    JSON.stringify({ conversationId, previousSummary: previous?.text, messages: fold, coversUntil }),
    'application/json',
  );
  const transcript = fold.map((row) => `${row.direction === 'in' ? 'User' : 'Assistant'}: ${row.text}`).join('\n');
  const result = await model.chat({
    messages: [
      { role: 'system', content: COMPACTION_PROMPT },
      {
        role: 'user',
        content: previous ? `Earlier summary:\n${previous.text}\n\nConversation since:\n${transcript}` : transcript,
      },
    ],
    temperature: 0,
  });
  const summary: Summary = { text: result.message.content.trim(), coversUntil };
  await db
    .insert(memories)
    .values({ conversationId, key: 'summary', value: summary })
    .onConflictDoUpdate({
      target: [memories.conversationId, memories.key],
      set: { value: summary, updatedAt: new Date() },
    });
  return { compacted: fold.length };
}
