// Only callers from the listed addresses and CIDR ranges reach a route group (hono's ip-restriction,
// fed with the proxy-aware client address). An empty list allows everyone.
import type { Context, MiddlewareHandler } from 'hono';
import { ipRestriction } from 'hono/ip-restriction';
import { ForbiddenError } from '../../core/errors.js';

export function ipAllowlist(allow: readonly string[], clientAddress: (c: Context) => string): MiddlewareHandler {
  if (allow.length === 0) return async (_c, next) => next();
  const restrict = ipRestriction(clientAddress, { allowList: [...allow] }, () => {
    throw new ForbiddenError('requests from this address are not allowed');
  });
  return async (c, next) => {
    // No usable address at all (no socket): refuse with the same body rather than hono's plain-text 403.
    if (!clientAddress(c)) throw new ForbiddenError('requests from this address are not allowed');
    return restrict(c, next);
  };
}
