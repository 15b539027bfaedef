// Who may call what, on a real API: API keys and identity-provider JWTs (against a local JWKS server),
// the role table (403 with the error body), key management over HTTP and `npm run keys`, rate limits
// (429 + Retry-After) and IP allowlists with X-Forwarded-For believed only from trusted proxies.
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApiKey } from '../api/admin-keys.js';
import type { Role } from '../security/rbac.js';
import { type FakeIdentityProvider, startFakeIdentityProvider } from './fakes/identity-provider.js';
import { projectRoot, startTestPlatform, type TestPlatform } from './support/platform.js';

const AUDIENCE = 'conduit-api';
let idp: FakeIdentityProvider;
let platform: TestPlatform;
const keys = {} as Record<Role, string>;

beforeAll(async () => {
  idp = await startFakeIdentityProvider();
  platform = await startTestPlatform({ OIDC_ISSUER: idp.issuer, OIDC_AUDIENCE: AUDIENCE }, { worker: false });
  for (const role of ['admin', 'operator', 'approver', 'member', 'viewer'] as const) {
    keys[role] = (await createApiKey(platform.database.db, `test-${role}`, role)).key;
  }
});
afterAll(async () => {
  await platform?.stop();
  await idp?.stop();
});

const call = (target: TestPlatform, path: string, token: string | null, init: RequestInit = {}) =>
  fetch(`${target.apiUrl}${path}`, {
    ...init,
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...init.headers,
    },
  });
const post = (path: string, token: string, body: unknown = {}) =>
  call(platform, path, token, { method: 'POST', body: JSON.stringify(body) });
const message = { conversation_id: 'rbac', text: '/help' };
const now = () => Math.floor(Date.now() / 1000);
const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('JWT bearer tokens', () => {
  it('accept a valid token and map its roles and scopes', async () => {
    const token = await idp.sign({ aud: AUDIENCE, sub: 'alice', roles: ['viewer'], scope: 'openid conduit:approver' });
    const response = await call(platform, '/v1/whoami', token);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      principal: { keyId: 'jwt:alice', role: 'approver', roles: ['viewer', 'approver'], via: 'jwt' },
    });
    expect((await call(platform, '/v1/jobs?owner=a&channel=api', token)).status).toBe(200);
    // approver may decide: the run does not exist, so the answer is 404, not 403.
    expect((await post('/v1/runs/message:api:none/approve', token)).status).toBe(404);
    expect((await post('/v1/runs/message:api:none/cancel', token)).status).toBe(403);
  });

  it.each([
    ['another issuer', () => idp.sign({ aud: AUDIENCE, roles: ['admin'], iss: 'https://evil.example.com' })],
    ['another audience', () => idp.sign({ aud: 'other-api', roles: ['admin'] })],
    ['an expired token', () => idp.sign({ aud: AUDIENCE, roles: ['admin'], exp: now() - 3600 })],
    ['a token not yet valid', () => idp.sign({ aud: AUDIENCE, roles: ['admin'], nbf: now() + 3600 })],
    ['an unknown kid', () => idp.signWithStrangerKey({ aud: AUDIENCE, roles: ['admin'] }, 'unknown-kid', 'ES256')],
    ['a forged signature', () => idp.signWithStrangerKey({ aud: AUDIENCE, roles: ['admin'] }, 'rsa-1')],
    [
      'alg none',
      async () =>
        `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ iss: idp.issuer, aud: AUDIENCE, sub: 'root', exp: now() + 300, roles: ['admin'] })}.`,
    ],
    [
      'HS256 signed with the public key',
      async () => {
        const input = `${b64url({ alg: 'HS256', typ: 'JWT', kid: 'rsa-1' })}.${b64url({ iss: idp.issuer, aud: AUDIENCE, sub: 'root', exp: now() + 300, roles: ['admin'] })}`;
        return `${input}.${createHmac('sha256', idp.publicKeyPem()).update(input).digest('base64url')}`;
      },
    ],
    ['a valid token that grants no Conduit role', () => idp.sign({ aud: AUDIENCE, roles: ['payroll'] })],
  ])('refuse %s with 401', async (_name, makeToken) => {
    const response = await call(platform, '/v1/whoami', await makeToken());
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      error: { code: 'unauthorized', message: 'invalid, expired or revoked credentials' },
    });
    expect(response.headers.get('www-authenticate')).toContain('invalid_token');
  });
});

describe('roles', () => {
  const cases: Array<[Role, string, string, unknown, number]> = [
    ['viewer', 'GET', '/v1/jobs?owner=a&channel=api', undefined, 200],
    ['viewer', 'POST', '/v1/messages', message, 403],
    ['member', 'POST', '/v1/messages', message, 202],
    ['member', 'POST', '/v1/runs/message:api:none/approve', {}, 403],
    ['approver', 'POST', '/v1/runs/message:api:none/reject', {}, 404],
    ['approver', 'POST', '/v1/runs/message:api:none/cancel', {}, 403],
    ['operator', 'POST', '/v1/runs/message:api:none/cancel', {}, 404],
    ['operator', 'POST', '/v1/runs/message:api:none/approve', {}, 403],
    ['operator', 'GET', '/v1/keys', undefined, 403],
    ['admin', 'GET', '/v1/keys', undefined, 200],
  ];
  it.each(cases)('%s: %s %s → %i', async (role, method, path, body, status) => {
    const response = await call(platform, path, keys[role], {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect(response.status).toBe(status);
    if (status === 403) {
      const permission = (await response.json()) as { error: { code: string; message: string } };
      expect(permission).toEqual({
        error: { code: 'forbidden', message: expect.stringMatching(`^role ${role} lacks the `) },
      });
    }
  });
});

describe('API key management', () => {
  it('lets an admin create a key (shown once), list keys without secrets, and revoke one', async () => {
    const created = await post('/v1/keys', keys.admin, { name: 'ci bot', role: 'member' });
    expect(created.status).toBe(201);
    const { id, key } = (await created.json()) as { id: string; key: string };
    expect(key).toMatch(/^cdt_/);
    expect((await call(platform, '/v1/whoami', key)).status).toBe(200);

    const listing = await call(platform, '/v1/keys', keys.admin);
    const text = await listing.text();
    expect(text).toContain(id);
    expect(text).not.toContain(key);
    expect(text).not.toMatch(/hash/i);

    expect((await call(platform, `/v1/keys/${id}`, keys.admin, { method: 'DELETE' })).status).toBe(200);
    expect((await call(platform, '/v1/whoami', key)).status).toBe(401);
    expect((await call(platform, `/v1/keys/${id}`, keys.admin, { method: 'DELETE' })).status).toBe(404);
    expect((await post('/v1/keys', keys.admin, { name: 'x', role: 'root' })).status).toBe(400);
  });

  it('does the same from the command line with npm run keys', async () => {
    const run = promisify(execFile);
    const env = { ...process.env, DATABASE_URL: inject('databaseUrl'), LOG_LEVEL: 'silent' };
    const cli = (...args: string[]) =>
      run(process.execPath, ['--import', 'tsx', 'scripts/keys.ts', ...args], { cwd: projectRoot, env });
    const created = await cli('create', 'cli-viewer', 'viewer');
    const key = created.stdout.trim();
    const id = /created (key_[0-9a-f]+)/.exec(created.stderr)?.[1];
    expect(key).toMatch(/^cdt_/);
    expect(id).toBeDefined();
    expect((await call(platform, '/v1/whoami', key)).status).toBe(200);
    const listed = await cli('list');
    expect(listed.stdout).toContain(id);
    expect(listed.stdout).not.toContain(key);
    await cli('revoke', id!);
    expect((await call(platform, '/v1/whoami', key)).status).toBe(401);
    await expect(cli('create', 'x', 'superuser')).rejects.toMatchObject({ code: 2 });
  });
});

describe('rate limits and IP allowlists', () => {
  it('answers 429 with Retry-After per key and per address, and a spoofed X-Forwarded-For does not reset it', async () => {
    const limited = await startTestPlatform(
      { API_RATE_LIMIT_PER_KEY_PER_MINUTE: '3', API_RATE_LIMIT_PER_IP_PER_MINUTE: '5' },
      { worker: false },
    );
    try {
      const second = (await createApiKey(limited.database.db, 'second', 'viewer')).key;
      const whoami = (token: string, forwardedFor?: string) =>
        call(limited, '/v1/whoami', token, { headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {} });
      for (let i = 0; i < 3; i += 1) expect((await whoami(limited.adminKey)).status).toBe(200);
      const overKey = await whoami(limited.adminKey);
      expect(overKey.status).toBe(429);
      expect(Number(overKey.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await overKey.json()).toMatchObject({ error: { code: 'rate_limited' } });
      // Another key from the same address still has its own budget, until the address runs out.
      expect((await whoami(second, '203.0.113.1')).status).toBe(200);
      const overAddress = await whoami(second, '203.0.113.2');
      expect(overAddress.status).toBe(429);
      expect(((await overAddress.json()) as { error: { message: string } }).error.message).toContain(
        'from this address',
      );
      expect((await call(limited, '/v1/whoami', null)).status).toBe(429);
    } finally {
      await limited.stop();
    }
  });

  it('refuses addresses outside the API allowlist and ignores X-Forwarded-For from an untrusted peer', async () => {
    const walled = await startTestPlatform(
      { IP_ALLOWLIST_API: '10.20.30.0/24', IP_ALLOWLIST_WEBHOOKS: '192.0.2.0/24' },
      { worker: false },
    );
    try {
      const denied = await call(walled, '/v1/whoami', walled.adminKey);
      expect(denied.status).toBe(403);
      expect(await denied.json()).toEqual({
        error: { code: 'forbidden', message: 'requests from this address are not allowed' },
      });
      const spoofed = await call(walled, '/v1/whoami', walled.adminKey, {
        headers: { 'x-forwarded-for': '10.20.30.40' },
      });
      expect(spoofed.status).toBe(403);
      expect(
        (await call(walled, '/codec/decode', walled.adminKey, { method: 'POST', body: '{"payloads":[]}' })).status,
      ).toBe(403);
      expect((await fetch(`${walled.apiUrl}/webhooks/custom`, { method: 'POST', body: '{}' })).status).toBe(403);
      expect((await fetch(`${walled.apiUrl}/healthz`)).status).toBe(200);
    } finally {
      await walled.stop();
    }
  });

  it('believes X-Forwarded-For from a trusted proxy, read from the right', async () => {
    const proxied = await startTestPlatform(
      { TRUSTED_PROXIES: '127.0.0.1,::1', IP_ALLOWLIST_API: '10.20.30.0/24,fd00::/8' },
      { worker: false },
    );
    try {
      const via = (forwardedFor?: string) =>
        call(proxied, '/v1/whoami', proxied.adminKey, {
          headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
        });
      expect((await via('10.20.30.40')).status).toBe(200);
      expect((await via('fd00::7')).status).toBe(200);
      // The client wrote 10.20.30.40 itself; the proxy appended the address it really saw.
      expect((await via('10.20.30.40, 198.51.100.1')).status).toBe(403);
      expect((await via('garbage')).status).toBe(403);
      expect((await via()).status).toBe(403);
    } finally {
      await proxied.stop();
    }
  });
});
