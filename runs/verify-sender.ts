// May this sender start a run here, now? Allow/deny lists per channel (security/sender-lists.ts), a replay
// window, and per-user and per-conversation rate limits shared by all workers (counted in the database).
import { sql } from 'drizzle-orm';
import type { InboundMessage } from '../core/message.js';
import type { Database } from '../db/client.js';
import { preparedPerDatabase } from '../db/prepared.js';
import { rateWindows } from '../db/schema.js';
import { listMatches } from '../security/sender-lists.js';

export type VerifyOutcome = { allowed: true } | { allowed: false; reason: string; reply: string };

/** Messages sent longer ago than this before their run started are treated as replays. */
export const REPLAY_WINDOW_MS = 24 * 3_600_000;

export interface SenderRules {
  allowUsers: string[];
  denyUsers: string[];
  rateLimitPerUserPerMinute: number;
  rateLimitPerConversationPerMinute: number;
}

export async function verifySender(
  { db, rules }: { db: Database; rules: SenderRules },
  { message, runStartedAtMs }: { message: InboundMessage; runStartedAtMs?: number },
): Promise<VerifyOutcome> {
  const { channel } = message;
  const userId = message.sender.id;
  if (
    listMatches(rules.denyUsers, channel, userId) ||
    (rules.allowUsers.length > 0 && !listMatches(rules.allowUsers, channel, userId))
  ) {
    return {
      allowed: false,
      reason: 'not_allowed',
      reply: 'Sorry, you are not allowed to use this assistant here. Ask an administrator for access.',
    };
  }
  const sentAt = Date.parse(message.sentAt);
  if (runStartedAtMs !== undefined && Number.isFinite(sentAt) && runStartedAtMs - sentAt > REPLAY_WINDOW_MS) {
    return {
      allowed: false,
      reason: 'replayed',
      reply: 'This message is too old to act on; please send it again.',
    };
  }
  const minute = new Date(Math.floor(Date.now() / 60_000) * 60_000);
  const userKey = `user:${channel}:${userId}`;
  const conversationKey = `conversation:${channel}:${message.conversationId}`;
  const counts = await countInWindows(db, minute, userKey, conversationKey);
  const userCount = counts.get(userKey) ?? 1;
  const conversationCount = counts.get(conversationKey) ?? 1;
  if (userCount > rules.rateLimitPerUserPerMinute || conversationCount > rules.rateLimitPerConversationPerMinute) {
    return {
      allowed: false,
      reason: 'rate_limited',
      reply: 'You are sending messages faster than I can take them. Please wait a minute and try again.',
    };
  }
  return { allowed: true };
}

/**
 * Counts one more message in each key's window and resolves to the new counts by key, in one statement for both
 * keys (a round trip per key showed in the worker's profile). The keys differ (their prefixes do): one upsert cannot
 * touch a row twice. Rows are locked in the order given, sender before conversation in every run, so two runs
 * cannot deadlock on each other's windows.
 */
async function countInWindows(
  db: Database,
  windowStart: Date,
  first: string,
  second: string,
): Promise<Map<string, number>> {
  const rows = await countTwice(db).execute({ windowStart, first, second });
  // Keyed, because RETURNING promises no order.
  return new Map(rows.map((row) => [row.key, row.count]));
}

const countTwice = preparedPerDatabase((db) =>
  db
    .insert(rateWindows)
    .values(
      ['first', 'second'].map((key) => ({
        key: sql.placeholder(key),
        windowStart: sql.placeholder('windowStart'),
        count: 1,
      })),
    )
    .onConflictDoUpdate({
      target: [rateWindows.key, rateWindows.windowStart],
      set: { count: sql`${rateWindows.count} + 1` },
    })
    .returning({ key: rateWindows.key, count: rateWindows.count })
    .prepare('count_in_rate_windows'),
);
