// Which permission each route needs, derived from the route descriptions (api/api-routes.ts: `x-permission`).
// A route missing here needs `admin`: a new endpoint is closed to everyone else until its description names who
// may call it (see docs/security.md).
import { PatternRouter } from 'hono/router/pattern-router';
import type { Permission } from '../security/rbac.js';
import { HTTP_ROUTES } from './api-routes.js';
import { type ApiRoute, honoPath } from './route-spec.js';

type PermissionRow = readonly [method: string, path: string, permission: Permission];

/** The table of the described routes: public ones are left out (no guard asks for them). */
export function permissionTable(routes: readonly ApiRoute[]): PermissionRow[] {
  return routes.flatMap((route): PermissionRow[] => {
    const permission = route['x-permission'];
    if (permission === 'public') return [];
    const method = route.method.toUpperCase();
    const path = honoPath(route.path);
    return route['x-permission-subpaths']
      ? [
          [method, path, permission],
          [method, `${path}/*`, permission],
        ]
      : [[method, path, permission]];
  });
}

export const ROUTE_PERMISSIONS: readonly PermissionRow[] = permissionTable(HTTP_ROUTES);

export function createPermissionLookup(
  table: readonly PermissionRow[] = ROUTE_PERMISSIONS,
): (method: string, path: string) => Permission {
  const router = new PatternRouter<Permission>();
  for (const [method, path, permission] of table) router.add(method, path, permission);
  return (method, path) => {
    // HEAD reads like GET.
    const [matches] = router.match(method === 'HEAD' ? 'GET' : method, path);
    return matches[0]?.[0] ?? 'admin';
  };
}
