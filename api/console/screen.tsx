/** @jsxImportSource hono/jsx */
// What every console screen shares: the Hono env carrying the signed-in session, the RBAC check the API routes
// make, the page a role without the permission gets, and how times are shown.
import type { Context } from 'hono';
import { can, type Permission } from '../../security/rbac.js';
import { Page } from './layout.js';
import type { ConsoleSession } from './sessions.js';

export type ConsoleEnv = { Variables: { session: ConsoleSession } };

export function allowed(session: ConsoleSession, permission: Permission): boolean {
  const { principal } = session;
  return can(principal.roles ?? [principal.role], permission);
}

export function forbidden(c: Context<ConsoleEnv>, session: ConsoleSession, permission: Permission) {
  return c.html(
    <Page title="Not allowed" session={session}>
      <h1>Not allowed</h1>
      <p class="error">
        Your role ({session.principal.role}) lacks the <code>{permission}</code> permission for this screen.
      </p>
    </Page>,
    403,
  );
}

/** `2026-11-29 04:05:01 UTC`: seconds are enough to match a run to a log line. */
export const utc = (at: Date) => `${at.toISOString().replace('T', ' ').slice(0, 19)} UTC`;
