// One verifier for every bearer credential the API accepts: Conduit API keys, and, when an identity
// provider is configured, its JWT access tokens. HTTP, WebSocket and gRPC front doors all call this.
import type { Logger } from '../core/logger.js';
import { type JwtVerifier, type TokenIdentity, TokenRejectedError } from '../security/jwt-verifier.js';
import type { Principal } from './admin-keys.js';

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export type CredentialVerifier = (token: string) => Promise<Principal | undefined>;

export function createCredentialVerifier(options: {
  apiKeys: CredentialVerifier;
  jwt?: JwtVerifier;
  logger?: Logger;
}): CredentialVerifier {
  const { apiKeys, jwt, logger } = options;
  return async (token) => {
    if (jwt && JWT_SHAPE.test(token)) {
      try {
        const identity = await jwt(token);
        const principal = principalOfToken(identity);
        if (principal) return principal;
        logger?.warn({ subject: identity.subject }, 'token is valid but grants no Conduit role');
        return undefined;
      } catch (error) {
        if (!(error instanceof TokenRejectedError)) throw error;
        logger?.info({ reason: error.message }, 'bearer token refused');
        // A configured admin key may happen to look like a JWT: fall through to the key lookup.
      }
    }
    return apiKeys(token);
  };
}

/** The principal a verified token stands for (`jwt:<subject>`), or undefined when it grants no Conduit role. */
export function principalOfToken(identity: TokenIdentity): Principal | undefined {
  if (!identity.role) return undefined;
  return { keyId: `jwt:${identity.subject}`, role: identity.role, roles: identity.roles, via: 'jwt' };
}
