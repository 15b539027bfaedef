// Signature claims kept in this process's memory: enough for one API process and for tests. Several replicas
// share the database-backed claims instead (db/signature-claims.ts), handed in as ChannelDeps.signatureClaims.
import type { SignatureClaim, SignatureClaims } from './adapter.js';

export function createMemorySignatureClaims(now: () => Date): SignatureClaims {
  const claims = new Map<string, { messageId: string; expiresAt: number }>();
  return {
    async claim({ channel, signature, messageId, expiresAt }: SignatureClaim) {
      const at = now().getTime();
      for (const [key, entry] of claims) if (entry.expiresAt <= at) claims.delete(key);
      const key = `${channel}\n${signature}`;
      const existing = claims.get(key);
      if (existing) return existing.messageId === messageId;
      claims.set(key, { messageId, expiresAt: expiresAt.getTime() });
      return true;
    },
  };
}
