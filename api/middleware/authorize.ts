// Role-based access: the authenticated principal's roles must grant the permission the route table names
// for this method and path. Runs after authenticate(); refusals are 403 with the usual error body.
import type { MiddlewareHandler } from 'hono';
import { ForbiddenError } from '../../core/errors.js';
import { can, type Permission } from '../../security/rbac.js';
import type { ApiEnv } from '../deps.js';
import { createPermissionLookup } from '../route-permissions.js';

export function authorize(
  permissionFor: (method: string, path: string) => Permission = createPermissionLookup(),
): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const principal = c.get('principal');
    const permission = permissionFor(c.req.method, c.req.path);
    if (!principal || !can(principal.roles ?? [principal.role], permission)) {
      throw new ForbiddenError(`role ${principal?.role ?? 'none'} lacks the ${permission} permission`);
    }
    await next();
  };
}
