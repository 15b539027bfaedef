// API keys for the management API: random keys shown once, stored as SHA-256 hashes, checked in constant
// time. With no key configured and no identity provider, the first start creates a bootstrap admin key.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { apiKeys } from '../db/schema.js';

export type Role = (typeof apiKeys.$inferSelect)['role'];

export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

export function generateKey(): string {
  return `cdt_${randomBytes(24).toString('base64url')}`;
}

export async function createApiKey(db: Database, name: string, role: Role): Promise<{ id: string; key: string }> {
  const key = generateKey();
  const id = `key_${randomBytes(6).toString('hex')}`;
  await db.insert(apiKeys).values({ id, name, role, keyHash: hashKey(key) });
  return { id, key };
}

/** Returns a newly created admin key when the database holds no key yet; undefined otherwise. */
export async function ensureBootstrapKey(db: Database): Promise<string | undefined> {
  const existing = await db.select({ id: apiKeys.id }).from(apiKeys).limit(1);
  if (existing.length > 0) return undefined;
  return (await createApiKey(db, 'bootstrap-admin', 'admin')).key;
}

export interface Principal {
  keyId: string;
  role: Role;
}

export function createKeyVerifier(db: Database, configuredAdminKey?: string) {
  const configuredHash = configuredAdminKey ? Buffer.from(hashKey(configuredAdminKey), 'hex') : undefined;
  return async (presented: string): Promise<Principal | undefined> => {
    const presentedHash = hashKey(presented);
    if (configuredHash && timingSafeEqual(configuredHash, Buffer.from(presentedHash, 'hex'))) {
      return { keyId: 'env:CONDUIT_ADMIN_API_KEY', role: 'admin' };
    }
    // The lookup is by hash: timing reveals nothing about the key itself.
    const [row] = await db
      .select({ id: apiKeys.id, role: apiKeys.role })
      .from(apiKeys)
      .where(and(eq(apiKeys.keyHash, presentedHash), isNull(apiKeys.revokedAt)));
    return row ? { keyId: row.id, role: row.role } : undefined;
  };
}
