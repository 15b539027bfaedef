// Console sign-in with the identity provider, against the real stack and a fake provider over real HTTP (on
// `localhost`, so it is another site than the console on 127.0.0.1, as a real provider is). In Chromium: the
// "Sign in with …" link goes through the provider and lands on the approvals screen as `jwt:<subject>` with the
// role the ID token names. As plain HTTP requests, every hostile callback is refused with a page and no session:
// a wrong or missing state, a replayed code, a wrong PKCE verifier (the provider refuses), an ID token with
// another nonce or audience, an expired one, and one that grants no Conduit role.
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../db/schema.js';
import { type FakeIdentityProvider, startFakeIdentityProvider } from './fakes/identity-provider.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { seriousAxeViolations } from './support/console.js';
import { startTestPlatform, type TestPlatform } from './support/platform.js';

const CLIENT_ID = 'conduit-console';
const API_AUDIENCE = 'conduit-api';
const run = Math.random().toString(36).slice(2);
let idp: FakeIdentityProvider;
let platform: TestPlatform;
let browser: TestBrowser;

beforeAll(async () => {
  idp = await startFakeIdentityProvider({ issuerHost: 'localhost' });
  idp.addClient({ clientId: CLIENT_ID });
  platform = await startTestPlatform(
    { OIDC_ISSUER: idp.issuer, OIDC_AUDIENCE: API_AUDIENCE, OIDC_CONSOLE_CLIENT_ID: CLIENT_ID },
    { worker: false },
  );
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await platform?.stop();
  await idp?.stop();
});

const now = () => Math.floor(Date.now() / 1000);

/** Starts a sign-in as a browser would, up to the provider's redirect back (not yet followed). */
async function beginSignIn() {
  const start = await fetch(`${platform.apiUrl}/console/oidc/start`, { redirect: 'manual' });
  expect(start.status).toBe(303);
  const cookie = start.headers
    .getSetCookie()
    .find((line) => line.startsWith('conduit_console_oidc='))
    ?.split(';')[0];
  expect(cookie).toBeDefined();
  const authorize = new URL(start.headers.get('location')!);
  expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
  expect(authorize.searchParams.get('nonce')).toBeTruthy();
  const answer = await fetch(authorize, { redirect: 'manual' });
  expect(answer.status).toBe(302);
  const callback = new URL(answer.headers.get('location')!);
  expect(callback.origin).toBe(platform.apiUrl);
  return { cookie: cookie!, callback, code: callback.searchParams.get('code')! };
}

const deliver = (callback: URL, cookie?: string) =>
  fetch(callback, { headers: cookie ? { cookie } : {}, redirect: 'manual' });

const withParam = (url: URL, name: string, value: string) => {
  const changed = new URL(url);
  changed.searchParams.set(name, value);
  return changed;
};

const sessionCookie = (response: Response) =>
  response.headers
    .getSetCookie()
    .find((line) => line.startsWith('conduit_console='))
    ?.split(';')[0];

async function expectRefused(response: Response, status: number, message: string) {
  expect(response.status).toBe(status);
  const page = await response.text();
  expect(page).toContain(message);
  expect(page).toContain('role="alert"');
  expect(sessionCookie(response)).toBeUndefined();
}

describe('console sign-in with the identity provider', () => {
  it('signs in through the provider in Chromium and lands on the approvals screen as jwt:<subject>', async () => {
    const subject = `ada-${run}`;
    idp.signInAs({ sub: subject, claims: { roles: ['approver'] } });
    const page = await browser.context.newPage();
    await page.goto(`${platform.apiUrl}/console/login`);
    const host = new URL(idp.issuer).host;
    const link = page.getByRole('link', { name: `Sign in with ${host}` });
    await expect(link.isVisible()).resolves.toBe(true);
    expect(await seriousAxeViolations(page)).toEqual([]);

    await link.click();
    await page.getByRole('navigation', { name: 'Console screens' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/console/approvals');
    expect(await page.locator('.who').textContent()).toContain(`jwt:${subject} (approver)`);
    // The session is the console's own cookie: HttpOnly and SameSite=Strict, as after an API key.
    const cookies = await browser.context.cookies(`${platform.apiUrl}/console/approvals`);
    expect(cookies.find((cookie) => cookie.name === 'conduit_console')).toMatchObject({
      httpOnly: true,
      sameSite: 'Strict',
      path: '/console',
    });
    await page.close();

    const rows = await platform.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'console.sign_in'), eq(auditLog.actor, `api:jwt:${subject}`)));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'success', detail: { via: 'oidc' } });
  });

  it('gives a working session once, and refuses the same callback a second time', async () => {
    idp.signInAs({ sub: `grace-${run}`, claims: { roles: ['viewer', 'operator'] } });
    const { cookie, callback } = await beginSignIn();
    const signedIn = await deliver(callback, cookie);
    expect(signedIn.status).toBe(200);
    const session = sessionCookie(signedIn);
    expect(session).toBeDefined();
    const approvals = await fetch(`${platform.apiUrl}/console/approvals`, {
      headers: { cookie: session! },
      redirect: 'manual',
    });
    expect(approvals.status).toBe(200);
    expect(await approvals.text()).toContain(`jwt:grace-${run} (operator)`);

    await expectRefused(await deliver(callback, cookie), 400, 'not valid or has expired');
  });

  it('refuses a callback with a wrong state, or without the state cookie of the browser that started it', async () => {
    const first = await beginSignIn();
    await expectRefused(
      await deliver(withParam(first.callback, 'state', 'forged-state'), first.cookie),
      400,
      'not valid or has expired',
    );
    // Someone else's genuine callback link, opened in a browser that never started that sign-in (login CSRF).
    const second = await beginSignIn();
    await expectRefused(await deliver(second.callback), 400, 'not valid or has expired');
  });

  it('refuses a replayed code: the provider gives it out once', async () => {
    const first = await beginSignIn();
    expect((await deliver(first.callback, first.cookie)).status).toBe(200);
    const second = await beginSignIn();
    const refusals = idp.tokenRefusals().length;
    await expectRefused(
      await deliver(withParam(second.callback, 'code', first.code), second.cookie),
      401,
      'refused the sign-in',
    );
    expect(idp.tokenRefusals().slice(refusals)).toEqual(['unknown or used code']);
  });

  it('refuses a code delivered to another sign-in: its PKCE verifier does not match and the provider refuses', async () => {
    const stolen = await beginSignIn();
    const victim = await beginSignIn();
    const refusals = idp.tokenRefusals().length;
    await expectRefused(
      await deliver(withParam(victim.callback, 'code', stolen.code), victim.cookie),
      401,
      'refused the sign-in',
    );
    expect(idp.tokenRefusals().slice(refusals)).toEqual(['PKCE verifier does not match the challenge']);
  });

  it.each([
    ['another nonce', { nonce: 'nonce-of-another-sign-in' }],
    ["the API's audience instead of the console's client id", { aud: API_AUDIENCE }],
    ['an expired ID token', { exp: now() - 3600, iat: now() - 7200 }],
    ['another issuer', { iss: 'https://evil.example.com' }],
  ])('refuses an ID token with %s', async (_name, claims) => {
    idp.signInAs({ sub: `mallory-${run}`, claims: { roles: ['admin'] } });
    const { cookie, callback } = await beginSignIn();
    idp.tamperNextIdToken(claims);
    await expectRefused(await deliver(callback, cookie), 401, 'answer was not accepted');
  });

  it('refuses a valid ID token that grants no Conduit role, and records the refusal', async () => {
    idp.signInAs({ sub: `payroll-${run}`, claims: { roles: ['payroll'] } });
    const { cookie, callback } = await beginSignIn();
    await expectRefused(await deliver(callback, cookie), 401, 'no Conduit role');
    const rows = await platform.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'console.sign_in'), eq(auditLog.outcome, 'denied')));
    expect(rows.some((row) => (row.detail as { reason?: string }).reason === 'no Conduit role')).toBe(true);
  });
});
