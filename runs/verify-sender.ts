// May this sender start a run here, now? Allow/deny lists per channel (security/sender-lists.ts), a replay
// window, and per-user and per-conversation rate limits shared by all workers (counted in the database).
import { sql } from 'drizzle-orm';
import type { InboundMessage } from '../core/message.js';
import type { Database } from '../db/client.js';
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
  const [userCount, conversationCount] = await Promise.all([
    countInWindow(db, `user:${channel}:${userId}`, minute),
    countInWindow(db, `conversation:${channel}:${message.conversationId}`, minute),
  ]);
  if (userCount > rules.rateLimitPerUserPerMinute || conversationCount > rules.rateLimitPerConversationPerMinute) {
    return {
      allowed: false,
      reason: 'rate_limited',
      reply: 'You are sending messages faster than I can take them. Please wait a minute and try again.',
    };
  }
  return { allowed: true };
}

async function countInWindow(db: Database, key: string, windowStart: Date): Promise<number> {
  const rows = await db
    .insert(rateWindows)
    .values({ key, windowStart, count: 1 })
    .onConflictDoUpdate({
      target: [rateWindows.key, rateWindows.windowStart],
      set: { count: sql`${rateWindows.count} + 1` },
    })
    .returning({ count: rateWindows.count });
  return rows[0]?.count ?? 1;
}
