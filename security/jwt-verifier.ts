// OAuth 2.0 access tokens (JWTs) from the organisation's identity provider: signature against the
// provider's JWKS (fetched and cached by jose), issuer, audience, expiry and not-before, an allowlist of
// asymmetric algorithms (so `none` and HS256-signed-with-the-public-key are refused), then roles from claims.
import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from 'jose';
import { UnavailableError } from '../core/errors.js';
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

export function createJwtVerifier(settings: OidcSettings, options: { fetchTimeoutMs?: number } = {}): JwtVerifier {
  const jwks = createRemoteJWKSet(new URL(settings.jwksUrl), {
    timeoutDuration: options.fetchTimeoutMs ?? 5000,
    // A token with an unknown kid refetches the set at most this often: key rotation is picked up, but a
    // flood of made-up kids cannot turn into a flood of requests to the provider.
    cooldownDuration: 30_000,
    cacheMaxAge: 10 * 60_000,
  });
  return async (token, expect = {}) => {
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
