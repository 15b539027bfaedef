// Bearer API-key authentication for the management API; the principal (key id, role) goes on the context.
import type { MiddlewareHandler } from 'hono';
import { UnauthorizedError } from '../../core/errors.js';
import type { Principal } from '../admin-keys.js';
import type { ApiEnv } from '../deps.js';

export function apiKeyAuth(verify: (key: string) => Promise<Principal | undefined>): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) {
      c.header('WWW-Authenticate', 'Bearer realm="conduit"');
      throw new UnauthorizedError('missing bearer token');
    }
    const principal = await verify(match[1]!);
    if (!principal) {
      c.header('WWW-Authenticate', 'Bearer realm="conduit", error="invalid_token"');
      throw new UnauthorizedError('invalid or revoked API key');
    }
    c.set('principal', principal);
    await next();
  };
}
