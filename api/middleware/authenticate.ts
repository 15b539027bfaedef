// Bearer authentication for the management API and the codec endpoints: an API key or, when an identity
// provider is configured, its JWT. The principal goes on the context, with the mTLS client certificate's
// subject when the connection presented one, so authorization can take it into account.
import type { MiddlewareHandler } from 'hono';
import { UnauthorizedError } from '../../core/errors.js';
import type { CredentialVerifier } from '../credential-verifier.js';
import type { ApiEnv } from '../deps.js';
import { peerCertificateSubject } from './connection.js';

export function authenticate(verify: CredentialVerifier): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const match = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
    if (!match) {
      c.header('WWW-Authenticate', 'Bearer realm="conduit"');
      throw new UnauthorizedError('missing bearer token');
    }
    const principal = await verify(match[1]!);
    if (!principal) {
      c.header('WWW-Authenticate', 'Bearer realm="conduit", error="invalid_token"');
      throw new UnauthorizedError('invalid, expired or revoked credentials');
    }
    const certificate = peerCertificateSubject(c);
    c.set('principal', certificate ? { ...principal, clientCertificate: certificate } : principal);
    await next();
  };
}
