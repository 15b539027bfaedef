// A real HTTP server standing in for an OAuth 2.0 / OIDC identity provider: it publishes a JWKS at
// /.well-known/jwks.json (RS256, ES256 and EdDSA keys made by jose) and signs tokens for tests, including
// the hostile ones a verifier must refuse.
import { createServer } from 'node:http';
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

export interface FakeIdentityProvider {
  issuer: string;
  jwksUrl: string;
  /** How many times the JWKS was fetched. */
  jwksRequests(): number;
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

export async function startFakeIdentityProvider(): Promise<FakeIdentityProvider> {
  const keys = await Promise.all([makeKey('RS256', 'rsa-1'), makeKey('ES256', 'ec-1'), makeKey('EdDSA', 'ed-1')]);
  let requests = 0;
  const server = createServer((request, response) => {
    if (request.url === '/.well-known/jwks.json') {
      requests += 1;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ keys: keys.map((key) => key.publicJwk) }));
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
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
    jwksUrl: `${issuer}/.well-known/jwks.json`,
    jwksRequests: () => requests,
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
