// DingTalk cannot edit a sent message and rate-limits robots (about 20 a minute per group), so progress
// notices are coalesced: at most one per conversation per interval, in memory, shared by concurrent callers.
import type { SentMessageRef } from '../../core/message.js';

export interface ProgressThrottle {
  /** Runs `send` unless a notice for `key` went out within the interval; then answers `fallback` or that ref. */
  run(key: string, send: () => Promise<SentMessageRef>, fallback?: SentMessageRef): Promise<SentMessageRef>;
}

const SWEEP_ABOVE_ENTRIES = 1000;

export function createProgressThrottle(intervalMs: number, now: () => Date, channel: string): ProgressThrottle {
  const lastSent = new Map<string, { at: number; ref: Promise<SentMessageRef> }>();

  const sweep = (at: number) => {
    for (const [key, entry] of lastSent) if (at - entry.at >= intervalMs) lastSent.delete(key);
  };

  return {
    async run(key, send, fallback) {
      const at = now().getTime();
      const previous = lastSent.get(key);
      if (previous && at - previous.at < intervalMs) {
        return fallback ?? previous.ref.catch((): SentMessageRef => ({ channel }));
      }
      if (lastSent.size > SWEEP_ABOVE_ENTRIES) sweep(at);
      // Recorded before the send completes so a concurrent caller is suppressed too.
      const ref = send();
      lastSent.set(key, { at, ref });
      try {
        return await ref;
      } catch (error) {
        // A failed notice does not count: the next one may go out at once.
        if (lastSent.get(key)?.ref === ref) lastSent.delete(key);
        throw error;
      }
    },
  };
}
