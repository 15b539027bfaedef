// Webhook signature claims in the database, so a signature accepted by one API replica is refused by every
// other (see webhookSignatures in schema.ts). Expired rows are deleted as claims come in, at most once a minute.
// While the database cannot be reached a claim fails within CLAIM_DEADLINE_MS with UnavailableError (503 and
// Retry-After at the webhook door, so the platform redelivers), instead of holding the platform's request until
// the database is back (30 s and more, long past DingTalk's own deadline) or answering 500. A claim that went
// through after its deadline is harmless: the redelivery carries the same message id, which the claim accepts.
import { and, eq, lt } from 'drizzle-orm';
import type { SignatureClaim, SignatureClaims } from '../channels/adapter.js';
import { UnavailableError } from '../core/errors.js';
import type { Database } from './client.js';
import { webhookSignatures } from './schema.js';

const PURGE_EVERY_MS = 60_000;
/** How long a claim may wait for the database before the door answers 503. */
export const CLAIM_DEADLINE_MS = 2_000;
/** What a refused platform is told to wait before redelivering (Retry-After). */
const RETRY_AFTER_SECONDS = 5;

export function createDatabaseSignatureClaims(
  db: Database,
  now: () => Date = () => new Date(),
  deadlineMs = CLAIM_DEADLINE_MS,
): SignatureClaims {
  let lastPurge = 0;
  const claim = async ({ channel, signature, messageId, expiresAt }: SignatureClaim) => {
    const at = now();
    if (at.getTime() - lastPurge >= PURGE_EVERY_MS) {
      lastPurge = at.getTime();
      await db.delete(webhookSignatures).where(lt(webhookSignatures.expiresAt, at));
    }
    // The insert decides between racing replicas: one wins the row, the others read whose it is.
    const inserted = await db
      .insert(webhookSignatures)
      .values({ channel, signature, messageId, expiresAt })
      .onConflictDoNothing()
      .returning({ messageId: webhookSignatures.messageId });
    if (inserted.length > 0) return true;
    const [existing] = await db
      .select({ messageId: webhookSignatures.messageId })
      .from(webhookSignatures)
      .where(and(eq(webhookSignatures.channel, channel), eq(webhookSignatures.signature, signature)));
    return existing?.messageId === messageId;
  };
  return {
    claim(request: SignatureClaim) {
      return new Promise<boolean>((resolve, reject) => {
        const unavailable = (cause?: unknown) =>
          new UnavailableError('the delivery could not be recorded now; send it again later', {
            cause,
            retryAfterSeconds: RETRY_AFTER_SECONDS,
          });
        const timer = setTimeout(() => reject(unavailable()), deadlineMs);
        claim(request).then(
          (fresh) => {
            clearTimeout(timer);
            resolve(fresh);
          },
          (error: unknown) => {
            clearTimeout(timer);
            reject(unavailable(error));
          },
        );
      });
    },
  };
}
