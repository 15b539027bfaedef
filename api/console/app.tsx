/** @jsxImportSource hono/jsx */
// The Conduit console at /console: the few screens the Temporal UI cannot provide, server-rendered with Hono
// JSX (no build step: tsx compiles it with the rest under `npm start`). It has its own authentication (a
// session cookie from signing in with an API key, api/console/sessions.ts) instead of the /v1 bearer guards;
// each screen (screens/*.tsx) checks the same RBAC permissions as the API routes and calls the same domain code,
// never HTTP to itself. This file signs people in and out and mounts the screens behind the session check.
import { readFileSync } from 'node:fs';
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { appendAudit } from '../../audit/chain.js';
import type { ApiDeps } from '../deps.js';
import { limitBody } from '../middleware/body-limit.js';
import type { ConsoleEnv } from './screen.js';
import { approvalsScreen } from './screens/approvals.js';
import { auditScreen } from './screens/audit.js';
import { conversationScreen } from './screens/conversation.js';
import { healthScreen } from './screens/health.js';
import { keysScreen } from './screens/keys.js';
import { playgroundScreen } from './screens/playground.js';
import { runsScreen } from './screens/runs.js';
import { csrfMatches, SESSION_COOKIE, SESSION_TTL_MS, SessionStore } from './sessions.js';
import { SignIn } from './sign-in.js';

const stylesheet = readFileSync(new URL('./console.css', import.meta.url), 'utf8');
/** Form bodies are a key, a token and a reason: small. */
const MAX_FORM_BYTES = 16 * 1024;

export function consoleRoutes(deps: ApiDeps, sessions = new SessionStore()) {
  const { database, verifyApiKey } = deps;
  const app = new Hono<ConsoleEnv>();
  app.use('/console/*', limitBody(MAX_FORM_BYTES, 'console forms'));

  app.get('/console/console.css', (c) => {
    c.header('Cache-Control', 'public, max-age=300');
    return c.body(stylesheet, 200, { 'Content-Type': 'text/css; charset=utf-8' });
  });

  app.get('/console/login', (c) => c.html(<SignIn />));

  app.post('/console/login', async (c) => {
    const form = await c.req.parseBody();
    const key = typeof form['key'] === 'string' ? form['key'].trim() : '';
    const principal = key ? await verifyApiKey(key) : undefined;
    if (!principal) {
      await appendAudit(database.db, { actor: 'console', action: 'console.sign_in', outcome: 'denied', detail: {} });
      return c.html(<SignIn error="That key was not accepted." />, 401);
    }
    const session = sessions.create(principal);
    setCookie(c, SESSION_COOKIE, session.id, {
      httpOnly: true,
      sameSite: 'Strict',
      secure: new URL(c.req.url).protocol === 'https:',
      path: '/console',
      maxAge: Math.floor(SESSION_TTL_MS / 1000),
    });
    await appendAudit(database.db, { actor: `api:${principal.keyId}`, action: 'console.sign_in', detail: {} });
    return c.redirect('/console', 303);
  });

  // Everything below needs a session; form POSTs also need the session's CSRF token.
  app.use('/console/*', async (c, next) => {
    const session = sessions.get(getCookie(c, SESSION_COOKIE));
    if (!session) {
      if (c.req.method === 'GET') return c.redirect('/console/login', 303);
      return c.html(<SignIn error="Your session has ended; sign in again." />, 401);
    }
    if (c.req.method === 'POST') {
      const form = await c.req.parseBody();
      if (!csrfMatches(session, form['csrf'])) return c.text('The form is stale or forged (CSRF check failed).', 403);
    }
    c.set('session', session);
    await next();
  });
  app.get('/console', (c) => c.redirect('/console/approvals', 303));

  app.post('/console/logout', (c) => {
    sessions.delete(c.get('session').id);
    deleteCookie(c, SESSION_COOKIE, { path: '/console' });
    return c.redirect('/console/login', 303);
  });

  for (const screen of [
    approvalsScreen,
    playgroundScreen,
    runsScreen,
    conversationScreen,
    healthScreen,
    keysScreen,
    auditScreen,
  ]) {
    app.route('/', screen(deps));
  }
  return app;
}
