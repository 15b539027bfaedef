// API keys for the management API: random keys shown once, stored as SHA-256 hashes, checked in constant
// time. With no key configured and no identity provider, the first start creates a bootstrap admin key.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, desc, eq, isNull } from 'drizzle-orm';
import { appendAudit } from '../audit/chain.js';
import type { Database } from '../db/client.js';
import { apiKeys } from '../db/schema.js';

export type Role = (typeof apiKeys.$inferSelect)['role'];

export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

export function generateKey(): string {
  return `cdt_${randomBytes(24).toString('base64url')}`;
}

export async function createApiKey(
  db: Database,
  name: string,
  role: Role,
  actor = 'system',
): Promise<{ id: string; key: string }> {
  const key = generateKey();
  const id = `key_${randomBytes(6).toString('hex')}`;
  // The key exists only if its audit row does.
  await db.transaction(async (tx) => {
    await tx.insert(apiKeys).values({ id, name, role, keyHash: hashKey(key) });
    await appendAudit(tx, { actor, action: 'api_key.create', target: id, detail: { name, role } });
  });
  return { id, key };
}

/** Returns a newly created admin key when the database holds no key yet; undefined otherwise. */
export async function ensureBootstrapKey(db: Database): Promise<string | undefined> {
  const existing = await db.select({ id: apiKeys.id }).from(apiKeys).limit(1);
  if (existing.length > 0) return undefined;
  return (await createApiKey(db, 'bootstrap-admin', 'admin')).key;
}

export interface Principal {
  /** The API key's id, `env:CONDUIT_ADMIN_API_KEY`, or `jwt:<subject>` for an identity-provider token. */
  keyId: string;
  /** The most privileged role the credential carries. */
  role: Role;
  /** Every role, when the credential carries several (a token may); authorization checks all of them. */
  roles?: Role[];
  /** `embedded-ui`: the dev server's Temporal UI, trusted by api/middleware/embedded-ui-trust.ts. */
  via?: 'api-key' | 'jwt' | 'embedded-ui';
  /** Subject of the TLS client certificate the request arrived with (mTLS), e.g. `CN=ops-bot,O=Example`. */
  clientCertificate?: string;
}

export function createKeyVerifier(db: Database, configuredAdminKey?: string) {
  const configuredHash = configuredAdminKey ? Buffer.from(hashKey(configuredAdminKey), 'hex') : undefined;
  return async (presented: string): Promise<Principal | undefined> => {
    const presentedHash = hashKey(presented);
    if (configuredHash && timingSafeEqual(configuredHash, Buffer.from(presentedHash, 'hex'))) {
      return { keyId: 'env:CONDUIT_ADMIN_API_KEY', role: 'admin', via: 'api-key' };
    }
    // The lookup is by hash: timing reveals nothing about the key itself.
    const [row] = await db
      .select({ id: apiKeys.id, role: apiKeys.role })
      .from(apiKeys)
      .where(and(eq(apiKeys.keyHash, presentedHash), isNull(apiKeys.revokedAt)));
    return row ? { keyId: row.id, role: row.role, via: 'api-key' } : undefined;
  };
}

export interface ApiKeyInfo {
  id: string;
  name: string;
  role: Role;
  createdAt: Date;
  revokedAt: Date | null;
}

/** Every key, newest first; hashes never leave this module. */
export async function listApiKeys(db: Database): Promise<ApiKeyInfo[]> {
  return db
    .select({
      id: apiKeys.id,
      name: apiKeys.name,
      role: apiKeys.role,
      createdAt: apiKeys.createdAt,
      revokedAt: apiKeys.revokedAt,
    })
    .from(apiKeys)
    .orderBy(desc(apiKeys.createdAt));
}

/** Marks a key revoked (kept for the audit trail); false when no live key has that id. */
export async function revokeApiKey(db: Database, id: string, actor = 'system'): Promise<boolean> {
  return db.transaction(async (tx) => {
    const revoked = await tx
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
      .returning({ id: apiKeys.id });
    if (revoked.length === 0) return false;
    await appendAudit(tx, { actor, action: 'api_key.revoke', target: id });
    return true;
  });
}
