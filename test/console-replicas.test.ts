// The console behind a load balancer: two API processes on one database, as the production topology runs them
// behind nginx (round robin, no sticky sessions). A session made on one replica is known to the other, signing out
// on one ends it on both, and an identity-provider sign-in started on one may come back to the other, once. The
// table keeps only a hash of each session id, so reading it gives no cookie to present.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../api/console/sessions.js';
import { consoleSessions } from '../db/schema.js';
import { type FakeIdentityProvider, startFakeIdentityProvider } from './fakes/identity-provider.js';
import { startTestPlatform, type TestPlatform } from './support/platform.js';

const CLIENT_ID = 'conduit-console';
let idp: FakeIdentityProvider;
let replicaA: TestPlatform;
let replicaB: TestPlatform;

beforeAll(async () => {
  idp = await startFakeIdentityProvider({ issuerHost: 'localhost' });
  idp.addClient({ clientId: CLIENT_ID });
  const env = { OIDC_ISSUER: idp.issuer, OIDC_AUDIENCE: 'conduit-api', OIDC_CONSOLE_CLIENT_ID: CLIENT_ID };
  [replicaA, replicaB] = await Promise.all([
    startTestPlatform(env, { worker: false }),
    startTestPlatform(env, { worker: false }),
  ]);
});
afterAll(async () => {
  await Promise.all([replicaA?.stop(), replicaB?.stop()]);
  await idp?.stop();
});

const sessionCookie = (response: Response) =>
  response.headers
    .getSetCookie()
    .find((line) => line.startsWith('conduit_console='))
    ?.split(';')[0];

const page = (replica: TestPlatform, path: string, cookie: string) =>
  fetch(`${replica.apiUrl}${path}`, { headers: { cookie }, redirect: 'manual' });

async function signInWithKey(replica: TestPlatform): Promise<string> {
  const response = await fetch(`${replica.apiUrl}/console/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ key: replica.adminKey }).toString(),
    redirect: 'manual',
  });
  expect(response.status).toBe(303);
  return sessionCookie(response)!;
}

describe('the console on two API replicas sharing one database', () => {
  it('knows a session on the replica that did not make it, and signing out on either ends it on both', async () => {
    const cookie = await signInWithKey(replicaA);
    const onB = await page(replicaB, '/console/runs', cookie);
    expect(onB.status).toBe(200);
    const html = await onB.text();
    expect(html).toContain('Runs');
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
    expect(csrf).toBeTruthy();

    // The table holds a hash of the id, never the cookie's value.
    const sessionId = decodeURIComponent(cookie.split('=')[1]!);
    const rows = await replicaA.database.db.select().from(consoleSessions);
    expect(rows.map((row) => row.idHash)).toContain(sha256Hex(sessionId));
    expect(JSON.stringify(rows)).not.toContain(sessionId);

    const signOut = await fetch(`${replicaB.apiUrl}/console/logout`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: csrf! }).toString(),
      redirect: 'manual',
    });
    expect(signOut.status).toBe(303);
    for (const replica of [replicaA, replicaB]) {
      const after = await page(replica, '/console/runs', cookie);
      expect(after.status).toBe(303);
      expect(after.headers.get('location')).toBe('/console/login');
    }
  });

  it('finishes an identity-provider sign-in on the other replica, and only once across both', async () => {
    idp.signInAs({ sub: 'ops-lead', claims: { roles: ['viewer'] } });
    const start = await fetch(`${replicaA.apiUrl}/console/oidc/start`, { redirect: 'manual' });
    expect(start.status).toBe(303);
    const stateCookie = start.headers
      .getSetCookie()
      .find((line) => line.startsWith('conduit_console_oidc='))
      ?.split(';')[0];
    const answer = await fetch(start.headers.get('location')!, { redirect: 'manual' });
    expect(answer.status).toBe(302);
    const callback = new URL(answer.headers.get('location')!);
    expect(callback.origin).toBe(replicaA.apiUrl);

    // The load balancer sends the provider's redirect to the other replica.
    const atB = new URL(`${callback.pathname}${callback.search}`, replicaB.apiUrl);
    const finished = await fetch(atB, { headers: { cookie: stateCookie! }, redirect: 'manual' });
    expect(finished.status).toBe(200);
    const cookie = sessionCookie(finished);
    expect(cookie).toBeDefined();
    const approvals = await page(replicaA, '/console/approvals', cookie!);
    expect(approvals.status).toBe(200);
    expect(await approvals.text()).toContain('jwt:ops-lead');

    // The same callback replayed at the replica that started it finds its state taken.
    const replayed = await fetch(callback, { headers: { cookie: stateCookie! }, redirect: 'manual' });
    expect(replayed.status).toBe(400);
    expect(sessionCookie(replayed)).toBeUndefined();
  });
});
