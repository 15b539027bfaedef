// A real HTTP server standing in for an OAuth 2.0 / OIDC identity provider: it publishes a JWKS where Keycloak
// does (/protocol/openid-connect/certs, named only by its discovery document, as with most providers; RS256, ES256
// and EdDSA keys made by jose) and signs tokens for tests, including
// the hostile ones a verifier must refuse. For browser sign-in it also speaks the authorization code flow with
// PKCE: a discovery document, /authorize (which signs in the scripted user at once and redirects back with a
// code) and /token (one use per code; client id, redirect URI and the S256 verifier checked), whose ID token
// carries the nonce and the client id as audience unless a test scripts a hostile one.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, exportSPKI, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

export type SigningAlgorithm = 'RS256' | 'ES256' | 'EdDSA';

interface SigningKey {
  kid: string;
  alg: SigningAlgorithm;
  privateKey: CryptoKey;
  publicJwk: JWK;
  publicPem: string;
}

/** A client the provider knows: `secret` makes it confidential (HTTP Basic at /token). */
export interface FakeClient {
  clientId: string;
  secret?: string;
}

/** The user /authorize signs in: the subject and further ID token claims (roles …). */
export interface ScriptedUser {
  sub: string;
  claims?: JWTPayload;
}

export interface FakeIdentityProvider {
  issuer: string;
  /** Registers a client for the code flow. */
  addClient(client: FakeClient): void;
  /** The user every /authorize from now on signs in. */
  signInAs(user: ScriptedUser): void;
  /** Claims overriding the next ID token /token issues (nonce, aud, exp …): one use. */
  tamperNextIdToken(claims: JWTPayload): void;
  /** Why /token refused, one entry per refusal (invalid_grant: used code, PKCE mismatch …). */
  tokenRefusals(): string[];
  jwksUrl: string;
  /** How many times the JWKS was fetched. */
  jwksRequests(): number;
  /** How many times the discovery document was asked for. */
  discoveryRequests(): number;
  /** What /.well-known/openid-configuration answers from now on: the document, a 503, or another issuer's. */
  setDiscovery(mode: 'ok' | 'down' | 'other-issuer'): void;
  /** Signs claims with the provider's key for `alg` (defaults: iss, iat, exp in 5 minutes, sub); `expiresIn: null` omits exp. */
  sign(
    claims: JWTPayload,
    options?: { alg?: SigningAlgorithm; kid?: string; expiresIn?: string | number | null },
  ): Promise<string>;
  /** A token signed by a key the provider never published. */
  signWithStrangerKey(claims: JWTPayload, kid?: string, alg?: SigningAlgorithm): Promise<string>;
  /** The PEM of a published public key (what an HS256 confusion attack uses as the HMAC secret). */
  publicKeyPem(alg?: SigningAlgorithm): string;
  stop(): Promise<void>;
}

const JWKS_PATH = '/protocol/openid-connect/certs';

async function makeKey(alg: SigningAlgorithm, kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return {
    kid,
    alg,
    privateKey,
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' },
    publicPem: await exportSPKI(publicKey),
  };
}

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  challenge: string;
  nonce?: string;
  user: ScriptedUser;
}

/**
 * `issuerHost`: the host name in the issuer URL (the server listens on 127.0.0.1 either way); `localhost`
 * makes the provider another site than a Conduit on 127.0.0.1, as a real provider is.
 */
export async function startFakeIdentityProvider(options: { issuerHost?: string } = {}): Promise<FakeIdentityProvider> {
  const keys = await Promise.all([makeKey('RS256', 'rsa-1'), makeKey('ES256', 'ec-1'), makeKey('EdDSA', 'ed-1')]);
  let requests = 0;
  let discoveries = 0;
  let discoveryMode: 'ok' | 'down' | 'other-issuer' = 'ok';
  const clients = new Map<string, FakeClient>();
  const codes = new Map<string, IssuedCode>();
  const refusals: string[] = [];
  let user: ScriptedUser = { sub: 'user-1' };
  let tampering: JWTPayload | undefined;

  const json = (response: ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    response.end(JSON.stringify(body));
  };
  const refuse = (response: ServerResponse, error: string, why: string) => {
    refusals.push(why);
    json(response, error === 'invalid_client' ? 401 : 400, { error, error_description: why });
  };

  const authorize = (url: URL, response: ServerResponse) => {
    const q = url.searchParams;
    const client = clients.get(q.get('client_id') ?? '');
    const redirectUri = q.get('redirect_uri');
    // Errors before the redirect URI is trusted are shown here, never redirected (RFC 6749 4.1.2.1).
    if (!client || !redirectUri) return void response.writeHead(400).end('unknown client or no redirect_uri');
    const back = new URL(redirectUri);
    const state = q.get('state');
    if (state) back.searchParams.set('state', state);
    const challenge = q.get('code_challenge');
    if (q.get('response_type') !== 'code' || q.get('code_challenge_method') !== 'S256' || !challenge) {
      back.searchParams.set('error', 'invalid_request');
    } else {
      const code = randomBytes(16).toString('base64url');
      codes.set(code, { clientId: client.clientId, redirectUri, challenge, nonce: q.get('nonce') ?? undefined, user });
      back.searchParams.set('code', code);
    }
    response.writeHead(302, { location: back.toString() }).end();
  };

  const token = async (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    let clientId = form.get('client_id') ?? '';
    let secret: string | undefined;
    const basic = /^Basic (.+)$/.exec(request.headers.authorization ?? '');
    if (basic) {
      const [id = '', pass = ''] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':');
      clientId = decodeURIComponent(id);
      secret = decodeURIComponent(pass);
    }
    const client = clients.get(clientId);
    if (!client || client.secret !== secret) return refuse(response, 'invalid_client', 'client authentication');
    if (form.get('grant_type') !== 'authorization_code') return refuse(response, 'unsupported_grant_type', 'grant');
    const code = form.get('code') ?? '';
    const issued = codes.get(code);
    codes.delete(code);
    if (!issued) return refuse(response, 'invalid_grant', 'unknown or used code');
    if (issued.clientId !== clientId) return refuse(response, 'invalid_grant', 'code of another client');
    if (issued.redirectUri !== form.get('redirect_uri')) return refuse(response, 'invalid_grant', 'redirect_uri');
    const verifier = form.get('code_verifier') ?? '';
    if (createHash('sha256').update(verifier).digest('base64url') !== issued.challenge) {
      return refuse(response, 'invalid_grant', 'PKCE verifier does not match the challenge');
    }
    const claims: JWTPayload = { ...issued.user.claims, sub: issued.user.sub, aud: clientId, nonce: issued.nonce };
    const idToken = await signWith(keyFor('RS256'), 'rsa-1', { ...claims, ...tampering });
    tampering = undefined;
    json(response, 200, {
      access_token: randomBytes(16).toString('base64url'),
      token_type: 'Bearer',
      expires_in: 300,
      id_token: idToken,
    });
  };

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', issuer);
    if (url.pathname === JWKS_PATH) {
      requests += 1;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ keys: keys.map((key) => key.publicJwk) }));
      return;
    }
    if (url.pathname === '/.well-known/openid-configuration') {
      discoveries += 1;
      if (discoveryMode === 'down') return json(response, 503, { error: 'temporarily_unavailable' });
      return json(response, 200, {
        issuer: discoveryMode === 'other-issuer' ? 'https://elsewhere.example.com' : issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}${JWKS_PATH}`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256', 'ES256', 'EdDSA'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'none'],
      });
    }
    if (url.pathname === '/authorize' && request.method === 'GET') return authorize(url, response);
    if (url.pathname === '/token' && request.method === 'POST') {
      token(request, response).catch(() => response.writeHead(500).end());
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://${options.issuerHost ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}`;
  const keyFor = (alg: SigningAlgorithm) => keys.find((key) => key.alg === alg)!;

  const signWith = (
    key: { privateKey: CryptoKey; alg: string },
    kid: string,
    claims: JWTPayload,
    expiresIn: string | number | null = '5m',
  ) => {
    const jwt = new SignJWT({ sub: 'user-1', ...claims })
      .setProtectedHeader({ alg: key.alg, kid, typ: 'JWT' })
      .setIssuer(claims.iss ?? issuer)
      .setIssuedAt();
    const expiry = claims.exp ?? expiresIn;
    return (expiry === null ? jwt : jwt.setExpirationTime(expiry)).sign(key.privateKey);
  };

  return {
    issuer,
    addClient: (client) => clients.set(client.clientId, client),
    signInAs: (next) => {
      user = next;
    },
    tamperNextIdToken: (claims) => {
      tampering = claims;
    },
    tokenRefusals: () => [...refusals],
    jwksUrl: `${issuer}${JWKS_PATH}`,
    jwksRequests: () => requests,
    discoveryRequests: () => discoveries,
    setDiscovery: (mode) => {
      discoveryMode = mode;
    },
    sign: (claims, options = {}) => {
      const key = keyFor(options.alg ?? 'RS256');
      return signWith(key, options.kid ?? key.kid, claims, options.expiresIn);
    },
    signWithStrangerKey: async (claims, kid = 'rsa-1', alg = 'RS256') => {
      const stranger = await makeKey(alg, kid);
      return signWith(stranger, kid, claims);
    },
    publicKeyPem: (alg = 'RS256') => keyFor(alg).publicPem,
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
