/** @jsxImportSource hono/jsx */
// The Conduit console at /console: the few screens the Temporal UI cannot provide, server-rendered with Hono
// JSX (no build step: tsx compiles it with the rest under `npm start`). It has its own authentication (a
// session cookie from signing in with an API key or, when configured, the identity provider: sessions.ts,
// oidc.ts) instead of the /v1 bearer guards;
// each screen (screens/*.tsx) checks the same RBAC permissions as the API routes and calls the same domain code,
// never HTTP to itself. This file signs people in and out and mounts the screens behind the session check.
import { readFileSync } from 'node:fs';
import { type Context, Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { appendAudit } from '../../audit/chain.js';
import type { Principal } from '../admin-keys.js';
import type { ApiDeps } from '../deps.js';
import { limitBody } from '../middleware/body-limit.js';
import { CALLBACK_PATH, createOidcSignIn, PENDING_TTL_MS, SignInRefused } from './oidc.js';
import type { ConsoleEnv } from './screen.js';
import { approvalsScreen } from './screens/approvals.js';
import { auditScreen } from './screens/audit.js';
import { conversationScreen } from './screens/conversation.js';
import { healthScreen } from './screens/health.js';
import { keysScreen } from './screens/keys.js';
import { playgroundScreen } from './screens/playground.js';
import { runsScreen } from './screens/runs.js';
import { csrfMatches, SESSION_COOKIE, SESSION_TTL_MS, SessionStore } from './sessions.js';
import { SignedIn, SignIn } from './sign-in.js';

const stylesheet = readFileSync(new URL('./console.css', import.meta.url), 'utf8');
/** Form bodies are a key, a token and a reason: small. */
const MAX_FORM_BYTES = 16 * 1024;
/** Binds a pending OIDC sign-in to the browser that started it (its value is the sign-in's state). */
const OIDC_STATE_COOKIE = 'conduit_console_oidc';

export function consoleRoutes(deps: ApiDeps) {
  const { database, verifyApiKey, logger } = deps;
  const sessions = new SessionStore(database.db);
  const oidcSettings = deps.config.security.oidc;
  const oidc =
    oidcSettings?.console && deps.jwt
      ? createOidcSignIn({
          issuer: oidcSettings.issuer,
          client: oidcSettings.console,
          jwt: deps.jwt,
          db: database.db,
        })
      : undefined;
  const provider = oidc?.providerName;
  const app = new Hono<ConsoleEnv>();
  const secure = (url: string) => new URL(url).protocol === 'https:';

  const startSession = async (c: Context<ConsoleEnv>, principal: Principal, via: 'api-key' | 'oidc') => {
    const session = await sessions.create(principal);
    setCookie(c, SESSION_COOKIE, session.id, {
      httpOnly: true,
      sameSite: 'Strict',
      secure: secure(c.req.url),
      path: '/console',
      maxAge: Math.floor(SESSION_TTL_MS / 1000),
    });
    await appendAudit(database.db, {
      actor: `api:${principal.keyId}`,
      action: 'console.sign_in',
      detail: via === 'oidc' ? { via } : {},
    });
  };
  app.use('/console/*', limitBody(MAX_FORM_BYTES, 'console forms'));

  app.get('/console/console.css', (c) => {
    c.header('Cache-Control', 'public, max-age=300');
    return c.body(stylesheet, 200, { 'Content-Type': 'text/css; charset=utf-8' });
  });

  app.get('/console/login', (c) => c.html(<SignIn provider={provider} />));

  app.post('/console/login', async (c) => {
    const form = await c.req.parseBody();
    const key = typeof form['key'] === 'string' ? form['key'].trim() : '';
    const principal = key ? await verifyApiKey(key) : undefined;
    if (!principal) {
      await appendAudit(database.db, { actor: 'console', action: 'console.sign_in', outcome: 'denied', detail: {} });
      return c.html(<SignIn provider={provider} error="That key was not accepted." />, 401);
    }
    await startSession(c, principal, 'api-key');
    return c.redirect('/console', 303);
  });

  if (oidc) {
    const refuse = async (c: Context<ConsoleEnv>, error: unknown) => {
      if (!(error instanceof SignInRefused)) throw error;
      logger.info({ reason: error.message }, 'console OIDC sign-in refused');
      if (error.status !== 502) {
        await appendAudit(database.db, {
          actor: 'console',
          action: 'console.sign_in',
          outcome: 'denied',
          detail: { via: 'oidc', reason: error.message },
        });
      }
      return c.html(<SignIn provider={provider} error={error.userMessage} />, error.status);
    };

    app.get('/console/oidc/start', async (c) => {
      try {
        const { location, state } = await oidc.start(c.req.url);
        // Lax, not Strict: the cookie must come back on the provider's top-level redirect to the callback.
        setCookie(c, OIDC_STATE_COOKIE, state, {
          httpOnly: true,
          sameSite: 'Lax',
          secure: secure(c.req.url),
          path: CALLBACK_PATH,
          maxAge: Math.floor(PENDING_TTL_MS / 1000),
        });
        return c.redirect(location, 303);
      } catch (error) {
        return refuse(c, error);
      }
    });

    app.get(CALLBACK_PATH, async (c) => {
      const stateCookie = getCookie(c, OIDC_STATE_COOKIE);
      deleteCookie(c, OIDC_STATE_COOKIE, { path: CALLBACK_PATH, secure: secure(c.req.url) });
      try {
        const principal = await oidc.finish(c.req.query(), stateCookie);
        await startSession(c, principal, 'oidc');
      } catch (error) {
        return refuse(c, error);
      }
      // A page, not a redirect: this request came from the provider's site, and a browser that judges SameSite
      // over the whole redirect chain would not send the new Strict cookie on a redirect; a navigation this page
      // starts is same-site in every browser.
      return c.html(<SignedIn />);
    });
  }

  // Everything below needs a session; form POSTs also need the session's CSRF token.
  app.use('/console/*', async (c, next) => {
    const session = await sessions.get(getCookie(c, SESSION_COOKIE));
    if (!session) {
      if (c.req.method === 'GET') return c.redirect('/console/login', 303);
      return c.html(<SignIn provider={provider} error="Your session has ended; sign in again." />, 401);
    }
    if (c.req.method === 'POST') {
      const form = await c.req.parseBody();
      if (!csrfMatches(session, form['csrf'])) return c.text('The form is stale or forged (CSRF check failed).', 403);
    }
    c.set('session', session);
    await next();
  });
  app.get('/console', (c) => c.redirect('/console/approvals', 303));

  app.post('/console/logout', async (c) => {
    await sessions.delete(c.get('session').id);
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
