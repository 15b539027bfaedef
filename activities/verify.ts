// The verify step: may this sender talk to the bot here, now? Allow/deny lists per channel, per-user and
// per-conversation rate limits shared by all workers (counted in the database), and a replay window.
import { sql } from 'drizzle-orm';
import type { InboundMessage } from '../core/message.js';
import { rateWindows } from '../db/schema.js';
import type { ActivityDeps } from './deps.js';
import { recordRunEvent } from './run-events.js';

export type VerifyOutcome = { allowed: true } | { allowed: false; reason: string; reply: string };

/** Messages sent longer ago than this before their run started are treated as replays. */
export const REPLAY_WINDOW_MS = 24 * 3_600_000;

/** `feishu:ou_1` names one user on one channel; `*:ou_1` or a bare `ou_1` names that id on every channel. */
export function listMatches(entries: string[], channel: string, userId: string): boolean {
  return entries.some((entry) => {
    const at = entry.indexOf(':');
    if (at < 0) return entry === userId;
    const [entryChannel, entryUser] = [entry.slice(0, at), entry.slice(at + 1)];
    return (entryChannel === '*' || entryChannel === channel) && entryUser === userId;
  });
}

export function createVerifyActivities({ config, db }: ActivityDeps) {
  const { allowUsers, denyUsers, rateLimitPerUserPerMinute, rateLimitPerConversationPerMinute } = config.pipeline;

  async function countInWindow(key: string, windowStart: Date): Promise<number> {
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

  return {
    async verifySender(input: { message: InboundMessage; runStartedAtMs?: number }): Promise<VerifyOutcome> {
      const outcome = await verify(input);
      await recordRunEvent(
        db,
        outcome.allowed ? 'step' : 'refused',
        outcome.allowed ? { step: 'verify' } : { reason: outcome.reason },
      );
      return outcome;
    },
  };

  async function verify({
    message,
    runStartedAtMs,
  }: {
    message: InboundMessage;
    runStartedAtMs?: number;
  }): Promise<VerifyOutcome> {
    const { channel } = message;
    const userId = message.sender.id;
    if (
      listMatches(denyUsers, channel, userId) ||
      (allowUsers.length > 0 && !listMatches(allowUsers, channel, userId))
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
      countInWindow(`user:${channel}:${userId}`, minute),
      countInWindow(`conversation:${channel}:${message.conversationId}`, minute),
    ]);
    if (userCount > rateLimitPerUserPerMinute || conversationCount > rateLimitPerConversationPerMinute) {
      return {
        allowed: false,
        reason: 'rate_limited',
        reply: 'You are sending messages faster than I can take them. Please wait a minute and try again.',
      };
    }
    return { allowed: true };
  }
}
