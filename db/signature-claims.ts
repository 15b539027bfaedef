// Webhook signature claims in the database, so a signature accepted by one API replica is refused by every
// other (see webhookSignatures in schema.ts). Expired rows are deleted as claims come in, at most once a minute.
import { and, eq, lt } from 'drizzle-orm';
import type { SignatureClaim, SignatureClaims } from '../channels/adapter.js';
import type { Database } from './client.js';
import { webhookSignatures } from './schema.js';

const PURGE_EVERY_MS = 60_000;

export function createDatabaseSignatureClaims(db: Database, now: () => Date = () => new Date()): SignatureClaims {
  let lastPurge = 0;
  return {
    async claim({ channel, signature, messageId, expiresAt }: SignatureClaim) {
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
    },
  };
}
