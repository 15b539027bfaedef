// OAuth 2.0 access tokens (JWTs) from the organisation's identity provider: signature against the
// provider's JWKS (fetched and cached by jose), issuer, audience, expiry and not-before, an allowlist of
// asymmetric algorithms (so `none` and HS256-signed-with-the-public-key are refused), then roles from claims.
import { createRemoteJWKSet, decodeProtectedHeader, errors, type JWTPayload, jwtVerify } from 'jose';
import { UnavailableError } from '../core/errors.js';
import { createDiscoveryReader, DiscoveryUnavailable } from './oidc-discovery.js';
import { highestRole, isRole, type Role } from './rbac.js';
import type { OidcSettings } from './settings.js';

/** Scope values that grant a role (`scope: "openid conduit:approver"`). */
const SCOPE_PREFIX = 'conduit:';

export interface TokenIdentity {
  subject: string;
  issuer: string;
  roles: Role[];
  role?: Role;
}

/** Why a token was refused, for logs (never for callers beyond "invalid token"). */
export class TokenRejectedError extends Error {
  override readonly name = 'TokenRejectedError';
}

/**
 * What a caller may expect beyond the settings: an OIDC ID token is for the console's client id (not the API's
 * audience) and carries the nonce its sign-in started with.
 */
export interface TokenExpectations {
  audience?: string;
  nonce?: string;
}

export type JwtVerifier = (token: string, expect?: TokenExpectations) => Promise<TokenIdentity>;

type KeySet = ReturnType<typeof createRemoteJWKSet>;

/** After a failed discovery, tokens are refused as "provider unavailable" this long before it is asked again. */
const DISCOVERY_RETRY_MS = 5000;

export function createJwtVerifier(
  settings: OidcSettings,
  options: { fetchTimeoutMs?: number; now?: () => number } = {},
): JwtVerifier {
  const { fetchTimeoutMs = 5000, now = Date.now } = options;
  const keySetAt = (url: string): KeySet =>
    createRemoteJWKSet(new URL(url), {
      timeoutDuration: fetchTimeoutMs,
      // A token with an unknown kid refetches the set at most this often: key rotation is picked up, but a
      // flood of made-up kids cannot turn into a flood of requests to the provider.
      cooldownDuration: 30_000,
      cacheMaxAge: 10 * 60_000,
    });
  const configured = settings.jwksUrl ? keySetAt(settings.jwksUrl) : undefined;
  const keySet = configured
    ? () => Promise.resolve(configured)
    : discoveredKeySet(settings.issuer, keySetAt, { fetchTimeoutMs, now });
  return async (token, expect = {}) => {
    // Something that is not a JWS at all is the caller's fault, whether or not the provider can be reached.
    try {
      decodeProtectedHeader(token);
    } catch (error) {
      throw new TokenRejectedError('not a signed JWT', { cause: error });
    }
    const jwks = await keySet();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        issuer: settings.issuer,
        audience: expect.audience ?? settings.audience,
        algorithms: settings.algorithms,
        clockTolerance: settings.clockToleranceSeconds,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      if (isTokenFault(error)) throw new TokenRejectedError(describeJoseError(error), { cause: error });
      // The provider's JWKS could not be fetched or read: not the caller's fault, and worth a retry.
      throw new UnavailableError(`identity provider keys unavailable: ${describeJoseError(error)}`, { cause: error });
    }
    // jose does not know nonces: a token minted for another sign-in (replayed or injected) is refused here.
    if (expect.nonce !== undefined && payload.nonce !== expect.nonce) {
      throw new TokenRejectedError('claim nonce failed: does not match the sign-in');
    }
    const roles = rolesFromClaims(payload, settings.roleClaim);
    return { subject: payload.sub!, issuer: payload.iss!, roles, role: highestRole(roles) };
  };
}

/**
 * The key set named by the issuer's discovery document (`jwks_uri`), found on first use. A provider that cannot
 * be asked is asked again after DISCOVERY_RETRY_MS, not on every token, so a flood of tokens is not a flood of
 * requests to it.
 */
function discoveredKeySet(
  issuer: string,
  keySetAt: (url: string) => KeySet,
  options: { fetchTimeoutMs: number; now: () => number },
): () => Promise<KeySet> {
  // The key set's URL is kept once found; jose refetches the set itself when the provider rotates keys.
  const discover = createDiscoveryReader(issuer, { timeoutMs: options.fetchTimeoutMs, now: options.now });
  let found: KeySet | undefined;
  let failure: { error: UnavailableError; at: number } | undefined;
  return async () => {
    if (found) return found;
    if (failure && options.now() - failure.at < DISCOVERY_RETRY_MS) throw failure.error;
    try {
      const { jwks_uri } = await discover();
      if (!jwks_uri) throw new DiscoveryUnavailable(`the discovery document of ${issuer} names no jwks_uri`);
      found ??= keySetAt(jwks_uri);
      failure = undefined;
      return found;
    } catch (error) {
      const reason = error instanceof DiscoveryUnavailable ? error.message : String(error);
      failure = {
        error: new UnavailableError(`identity provider keys unavailable: ${reason}`, {
          cause: error,
          retryAfterSeconds: DISCOVERY_RETRY_MS / 1000,
        }),
        at: options.now(),
      };
      throw failure.error;
    }
  };
}

/** Roles named in the role claim (a string, an array, or space-separated) plus `conduit:<role>` scopes. */
export function rolesFromClaims(payload: JWTPayload, roleClaim: string): Role[] {
  const found = new Set<Role>();
  const add = (value: unknown) => {
    if (typeof value !== 'string') return;
    const name = value.startsWith(SCOPE_PREFIX) ? value.slice(SCOPE_PREFIX.length) : value;
    if (isRole(name)) found.add(name);
  };
  const claim = roleClaim
    .split('.')
    .reduce<unknown>(
      (value, part) => (value && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined),
      payload,
    );
  for (const value of toList(claim)) add(value);
  // Scopes grant roles only with the prefix: a bare `admin` scope may mean something else to another API.
  for (const value of [...toList(payload.scope), ...toList(payload.scp)]) {
    if (typeof value === 'string' && value.startsWith(SCOPE_PREFIX)) add(value);
  }
  return [...found];
}

const toList = (value: unknown): unknown[] =>
  Array.isArray(value) ? value : typeof value === 'string' ? value.split(' ').filter(Boolean) : [];

/** Faults of the token itself, as opposed to trouble fetching the provider's keys. */
function isTokenFault(error: unknown): boolean {
  return (
    error instanceof errors.JWTExpired ||
    error instanceof errors.JWTClaimValidationFailed ||
    error instanceof errors.JWTInvalid ||
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JWSSignatureVerificationFailed ||
    error instanceof errors.JOSEAlgNotAllowed ||
    error instanceof errors.JOSENotSupported ||
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys ||
    error instanceof errors.JWKInvalid
  );
}

function describeJoseError(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `claim ${error.claim} failed: ${error.reason}`;
  if (error instanceof errors.JOSEAlgNotAllowed) return 'signing algorithm not allowed';
  if (error instanceof errors.JWKSNoMatchingKey) return 'no key in the JWKS matches the token';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'signature verification failed';
  if (error instanceof errors.JWKSTimeout) return 'the JWKS endpoint timed out';
  if (error instanceof errors.JOSEError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
