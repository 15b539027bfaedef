// API keys for the management API: random keys shown once, stored as SHA-256 hashes, checked in constant
// time. With no key configured, the first start makes a bootstrap admin key, stored once it has been shown.
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
  return { id: await storeApiKey(db, key, name, role, actor), key };
}

async function storeApiKey(db: Database, key: string, name: string, role: Role, actor: string): Promise<string> {
  const id = `key_${randomBytes(6).toString('hex')}`;
  // The key exists only if its audit row does.
  await db.transaction(async (tx) => {
    await tx.insert(apiKeys).values({ id, name, role, keyHash: hashKey(key) });
    await appendAudit(tx, { actor, action: 'api_key.create', target: id, detail: { name, role } });
  });
  return id;
}

/** The command that makes an admin key, named wherever a start finds none. */
export const CREATE_ADMIN_KEY_HINT =
  'create one with `npm run keys -- create admin admin` (stop Conduit first when it uses the embedded database) or set CONDUIT_ADMIN_API_KEY';

/** What the keys table holds: no key at all, a live admin key, or keys none of which is a live admin key. */
export async function storedKeyState(db: Database): Promise<'empty' | 'admin' | 'no-admin'> {
  const [anyKey] = await db.select({ id: apiKeys.id }).from(apiKeys).limit(1);
  if (!anyKey) return 'empty';
  const [admin] = await db
    .select({ id: apiKeys.id })
    .from(apiKeys)
    .where(and(eq(apiKeys.role, 'admin'), isNull(apiKeys.revokedAt)))
    .limit(1);
  return admin ? 'admin' : 'no-admin';
}

/**
 * A bootstrap admin key for a database that holds no key yet, not stored: the caller shows it and only then
 * calls store(), so a start that fails before showing it leaves no key nobody has seen. (Two processes starting
 * at once on an empty table each store the key they showed.)
 */
export function prepareBootstrapKey(db: Database): { key: string; store(): Promise<void> } {
  const key = generateKey();
  return {
    key,
    store: async () => {
      try {
        await storeApiKey(db, key, 'bootstrap-admin', 'admin', 'system');
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`the admin API key shown above could not be stored and will not work (${reason})`);
      }
    },
  };
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
