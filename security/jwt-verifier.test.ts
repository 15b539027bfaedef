import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnavailableError } from '../core/errors.js';
import { type FakeIdentityProvider, startFakeIdentityProvider } from '../test/fakes/identity-provider.js';
import { createJwtVerifier, type JwtVerifier, rolesFromClaims, TokenRejectedError } from './jwt-verifier.js';
import type { OidcSettings } from './settings.js';

let idp: FakeIdentityProvider;
let verify: JwtVerifier;
let settings: OidcSettings;
const AUDIENCE = 'conduit-api';
const now = () => Math.floor(Date.now() / 1000);
const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

beforeAll(async () => {
  idp = await startFakeIdentityProvider();
  settings = {
    issuer: idp.issuer,
    audience: [AUDIENCE],
    jwksUrl: idp.jwksUrl,
    algorithms: ['RS256', 'ES256', 'EdDSA'],
    clockToleranceSeconds: 30,
    roleClaim: 'roles',
  };
  verify = createJwtVerifier(settings);
});
afterAll(async () => {
  await idp?.stop();
});

async function rejection(token: string): Promise<string> {
  const error = await verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenRejectedError);
  return (error as Error).message;
}

describe('JWT verification', () => {
  it('checks an ID token against the audience and nonce its caller expects instead of the API audience', async () => {
    const expected = { audience: 'console-client', nonce: 'n-1' };
    const idToken = await idp.sign({ aud: 'console-client', nonce: 'n-1', roles: ['viewer'] });
    expect(await verify(idToken, expected)).toMatchObject({ subject: 'user-1', role: 'viewer' });
    const refusal = (token: string) => verify(token, expected).catch((error: unknown) => error);
    expect(await refusal(await idp.sign({ aud: 'console-client', nonce: 'n-2', roles: ['viewer'] }))).toBeInstanceOf(
      TokenRejectedError,
    );
    expect(await refusal(await idp.sign({ aud: 'console-client', roles: ['viewer'] }))).toBeInstanceOf(
      TokenRejectedError,
    );
    expect(await refusal(await idp.sign({ aud: AUDIENCE, nonce: 'n-1', roles: ['viewer'] }))).toBeInstanceOf(
      TokenRejectedError,
    );
  });

  it.each(['RS256', 'ES256', 'EdDSA'] as const)('accepts a valid %s token and maps its roles', async (alg) => {
    const token = await idp.sign({ aud: AUDIENCE, roles: ['approver', 'unknown-role'] }, { alg });
    expect(await verify(token)).toEqual({
      subject: 'user-1',
      issuer: idp.issuer,
      roles: ['approver'],
      role: 'approver',
    });
  });

  it('refuses a token from another issuer', async () => {
    const token = await idp.sign({ aud: AUDIENCE, iss: 'https://evil.example.com' });
    expect(await rejection(token)).toMatch(/iss/);
  });

  it('refuses a token for another audience', async () => {
    expect(await rejection(await idp.sign({ aud: 'some-other-api' }))).toMatch(/aud/);
  });

  it('refuses an expired token beyond the clock tolerance, accepts one within it', async () => {
    expect(await rejection(await idp.sign({ aud: AUDIENCE, exp: now() - 120 }))).toBe('token expired');
    await expect(verify(await idp.sign({ aud: AUDIENCE, exp: now() - 5, roles: ['viewer'] }))).resolves.toMatchObject({
      role: 'viewer',
    });
  });

  it('refuses a token that is not yet valid', async () => {
    expect(await rejection(await idp.sign({ aud: AUDIENCE, nbf: now() + 600 }))).toMatch(/nbf/);
  });

  it('refuses a token without an expiry', async () => {
    expect(await rejection(await idp.sign({ aud: AUDIENCE, roles: ['admin'] }, { expiresIn: null }))).toMatch(/exp/);
  });

  it('refuses alg none', async () => {
    const claims = { iss: idp.issuer, aud: AUDIENCE, sub: 'root', exp: now() + 300, roles: ['admin'] };
    expect(await rejection(`${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`)).toBe(
      'signing algorithm not allowed',
    );
  });

  it('refuses HS256 signed with the provider’s public key (algorithm confusion)', async () => {
    const claims = { iss: idp.issuer, aud: AUDIENCE, sub: 'root', exp: now() + 300, roles: ['admin'] };
    const input = `${b64url({ alg: 'HS256', typ: 'JWT', kid: 'rsa-1' })}.${b64url(claims)}`;
    const signature = createHmac('sha256', idp.publicKeyPem('RS256')).update(input).digest('base64url');
    expect(await rejection(`${input}.${signature}`)).toBe('signing algorithm not allowed');
  });

  it('refuses an unknown kid and a forged signature under a known kid', async () => {
    expect(await rejection(await idp.signWithStrangerKey({ aud: AUDIENCE }, 'no-such-kid'))).toBe(
      'no key in the JWKS matches the token',
    );
    expect(await rejection(await idp.signWithStrangerKey({ aud: AUDIENCE }, 'rsa-1'))).toBe(
      'signature verification failed',
    );
  });

  it('refuses algorithms outside the configured allowlist', async () => {
    const rsaOnly = createJwtVerifier({ ...settings, algorithms: ['RS256'] });
    await expect(rsaOnly(await idp.sign({ aud: AUDIENCE }, { alg: 'ES256' }))).rejects.toThrow(
      'signing algorithm not allowed',
    );
  });

  it('does not refetch the JWKS for every made-up kid', async () => {
    const before = idp.jwksRequests();
    for (let i = 0; i < 5; i += 1) {
      await rejection(await idp.signWithStrangerKey({ aud: AUDIENCE }, `made-up-${i}`, 'ES256'));
    }
    expect(idp.jwksRequests() - before).toBeLessThanOrEqual(1);
  });

  it('says the provider is unavailable, not that the token is bad, when the JWKS cannot be fetched', async () => {
    const offline = createJwtVerifier(
      { ...settings, jwksUrl: 'http://127.0.0.1:9/jwks.json' },
      { fetchTimeoutMs: 500 },
    );
    await expect(offline(await idp.sign({ aud: AUDIENCE }))).rejects.toBeInstanceOf(UnavailableError);
  });
});

describe('JWT verification without OIDC_JWKS_URL: the key set the discovery document names', () => {
  const discovering = (options: { now?: () => number } = {}) =>
    createJwtVerifier({ ...settings, jwksUrl: undefined }, { fetchTimeoutMs: 500, ...options });

  afterAll(() => idp.setDiscovery('ok'));

  it('finds jwks_uri at a path of the provider’s choosing, asking once for concurrent first tokens', async () => {
    // The fake publishes its keys where Keycloak does, not at <issuer>/.well-known/jwks.json.
    expect(new URL(idp.jwksUrl).pathname).toBe('/protocol/openid-connect/certs');
    const verifyDiscovering = discovering();
    const before = idp.discoveryRequests();
    const tokens = await Promise.all(
      [1, 2, 3].map((n) => idp.sign({ aud: AUDIENCE, sub: `user-${n}`, roles: ['viewer'] })),
    );
    const identities = await Promise.all(tokens.map((token) => verifyDiscovering(token)));
    expect(identities.map((identity) => identity.subject)).toEqual(['user-1', 'user-2', 'user-3']);
    await verifyDiscovering(tokens[0]!);
    expect(idp.discoveryRequests() - before).toBe(1);
  });

  it('refuses to use a discovery document that names another issuer', async () => {
    idp.setDiscovery('other-issuer');
    const error = await discovering()(await idp.sign({ aud: AUDIENCE })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toContain(`not for ${idp.issuer}`);
    idp.setDiscovery('ok');
  });

  it('while discovery fails: says the provider is unavailable, asks again only after 5 s, recovers', async () => {
    idp.setDiscovery('down');
    let clock = 1_000_000;
    const verifyDiscovering = discovering({ now: () => clock });
    const token = await idp.sign({ aud: AUDIENCE, roles: ['viewer'] });
    const before = idp.discoveryRequests();
    for (let i = 0; i < 20; i += 1) {
      const error = await verifyDiscovering(token).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnavailableError);
      expect((error as Error).message).toMatch(/openid-configuration: HTTP 503$/);
      expect((error as UnavailableError).retryAfterSeconds).toBe(5);
    }
    expect(idp.discoveryRequests() - before).toBe(1);
    // Not a JWT at all: the caller's fault, refused without asking the provider.
    await expect(verifyDiscovering('not-a-token')).rejects.toBeInstanceOf(TokenRejectedError);
    expect(idp.discoveryRequests() - before).toBe(1);

    idp.setDiscovery('ok');
    clock += 4_000;
    await expect(verifyDiscovering(token)).rejects.toBeInstanceOf(UnavailableError);
    clock += 1_001;
    await expect(verifyDiscovering(token)).resolves.toMatchObject({ role: 'viewer' });
    expect(idp.discoveryRequests() - before).toBe(2);
  });
});

describe('rolesFromClaims', () => {
  it('reads the role claim as an array, a string, or a dotted path', () => {
    expect(rolesFromClaims({ roles: ['viewer', 'operator'] }, 'roles')).toEqual(['viewer', 'operator']);
    expect(rolesFromClaims({ groups: 'member conduit:approver' }, 'groups')).toEqual(['member', 'approver']);
    expect(rolesFromClaims({ realm_access: { roles: ['admin'] } }, 'realm_access.roles')).toEqual(['admin']);
    expect(rolesFromClaims({ roles: { admin: true } }, 'roles')).toEqual([]);
  });

  it('grants roles from scopes only with the conduit: prefix', () => {
    expect(rolesFromClaims({ scope: 'openid conduit:operator admin' }, 'roles')).toEqual(['operator']);
    expect(rolesFromClaims({ scp: ['conduit:viewer', 'member'] }, 'roles')).toEqual(['viewer']);
  });
});
