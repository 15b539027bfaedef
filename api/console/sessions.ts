// Console sessions: signing in with an API key (or through the identity provider, oidc.ts) verifies it once
// with the same verifier as the API and keeps the principal here, server-side. The browser holds only a random
// session id in an HttpOnly, SameSite=Strict cookie (Secure over https), never the key. Each session carries
// its own CSRF token, which every form POST must echo. Sessions live in this process's memory: a restart signs
// everyone out, and with several API replicas a load balancer must keep a browser on one (documented in
// docs/operations.md).
import { randomBytes, timingSafeEqual } from 'node:crypto';
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

export class SessionStore {
  private readonly sessions = new Map<string, ConsoleSession>();

  constructor(private readonly now: () => number = Date.now) {}

  create(principal: Principal): ConsoleSession {
    this.sweep();
    const session: ConsoleSession = {
      id: randomBytes(32).toString('base64url'),
      principal,
      csrf: randomBytes(32).toString('base64url'),
      expiresAt: this.now() + SESSION_TTL_MS,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  get(id: string | undefined): ConsoleSession | undefined {
    if (!id) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    if (session.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return session;
  }

  delete(id: string | undefined): void {
    if (id) this.sessions.delete(id);
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(id);
  }
}

/** Constant-time comparison of the form's CSRF token with the session's. */
export function csrfMatches(session: ConsoleSession, submitted: unknown): boolean {
  if (typeof submitted !== 'string') return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(submitted);
  return a.length === b.length && timingSafeEqual(a, b);
}
