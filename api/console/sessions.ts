// Console sessions: signing in with an API key (or through the identity provider, oidc.ts) verifies it once
// with the same verifier as the API and keeps the principal server-side, in the database (console_sessions), so
// any API replica behind a load balancer knows the session and a restart signs nobody out. The browser holds
// only a random session id in an HttpOnly, SameSite=Strict cookie (Secure over https), never the key; the table
// holds only its SHA-256. Each session carries its own CSRF token, which every form POST must echo.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, eq, gt, lte } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { consoleSessions } from '../../db/schema.js';
import type { Principal } from '../admin-keys.js';

export const SESSION_COOKIE = 'conduit_console';
/** Eight hours: a working day, then sign in again. */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

export interface ConsoleSession {
  id: string;
  principal: Principal;
  csrf: string;
  expiresAt: number;
}

export const sha256Hex = (value: string) => createHash('sha256').update(value).digest('hex');

export class SessionStore {
  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {}

  async create(principal: Principal): Promise<ConsoleSession> {
    // Expired rows go when a new one comes: signing in is rare next to the requests that read a session.
    await this.db.delete(consoleSessions).where(lte(consoleSessions.expiresAt, new Date(this.now())));
    const session: ConsoleSession = {
      id: randomBytes(32).toString('base64url'),
      principal,
      csrf: randomBytes(32).toString('base64url'),
      expiresAt: this.now() + SESSION_TTL_MS,
    };
    await this.db.insert(consoleSessions).values({
      idHash: sha256Hex(session.id),
      principal,
      csrf: session.csrf,
      expiresAt: new Date(session.expiresAt),
    });
    return session;
  }

  async get(id: string | undefined): Promise<ConsoleSession | undefined> {
    if (!id) return undefined;
    const [row] = await this.db
      .select()
      .from(consoleSessions)
      .where(and(eq(consoleSessions.idHash, sha256Hex(id)), gt(consoleSessions.expiresAt, new Date(this.now()))));
    return row && { id, principal: row.principal as Principal, csrf: row.csrf, expiresAt: row.expiresAt.getTime() };
  }

  async delete(id: string | undefined): Promise<void> {
    if (id) await this.db.delete(consoleSessions).where(eq(consoleSessions.idHash, sha256Hex(id)));
  }
}

/** Constant-time comparison of the form's CSRF token with the session's. */
export function csrfMatches(session: ConsoleSession, submitted: unknown): boolean {
  if (typeof submitted !== 'string') return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(submitted);
  return a.length === b.length && timingSafeEqual(a, b);
}
