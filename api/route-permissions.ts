// Which permission each route of the management API needs. A route missing here needs `admin`: a new
// endpoint is closed to everyone else until it is added to this table (see docs/security.md).
import { PatternRouter } from 'hono/router/pattern-router';
import type { Permission } from '../security/rbac.js';

export const ROUTE_PERMISSIONS: ReadonlyArray<readonly [method: string, path: string, permission: Permission]> = [
  ['GET', '/v1/whoami', 'self:read'],
  ['GET', '/v1/runs/:workflowId', 'runs:read'],
  ['GET', '/v1/runs/:workflowId/*', 'runs:read'],
  ['GET', '/v1/jobs', 'jobs:read'],
  ['POST', '/v1/messages', 'messages:send'],
  ['POST', '/v1/runs/:workflowId/approve', 'runs:decide'],
  ['POST', '/v1/runs/:workflowId/reject', 'runs:decide'],
  ['POST', '/v1/runs/:workflowId/cancel', 'runs:cancel'],
  // A schedule is a message posted again at every tick: whoever may post may schedule.
  ['GET', '/v1/schedules', 'runs:read'],
  ['GET', '/v1/schedules/:id', 'runs:read'],
  ['POST', '/v1/schedules', 'messages:send'],
  ['DELETE', '/v1/schedules/:id', 'messages:send'],
  ['ALL', '/v1/keys', 'keys:manage'],
  ['ALL', '/v1/keys/*', 'keys:manage'],
  // Admin only (docs/security.md): who did what, and one user's data.
  ['GET', '/v1/audit', 'audit:read'],
  ['POST', '/v1/audit/verify', 'audit:read'],
  ['POST', '/v1/privacy/purge', 'privacy:manage'],
  ['GET', '/v1/privacy/users/:channel/:userId/export', 'privacy:manage'],
  ['DELETE', '/v1/privacy/users/:channel/:userId', 'privacy:manage'],
  ['POST', '/codec/decode', 'payloads:decode'],
  ['POST', '/codec/encode', 'payloads:encode'],
];

export function createPermissionLookup(
  table: ReadonlyArray<readonly [string, string, Permission]> = ROUTE_PERMISSIONS,
): (method: string, path: string) => Permission {
  const router = new PatternRouter<Permission>();
  for (const [method, path, permission] of table) router.add(method, path, permission);
  return (method, path) => {
    // HEAD reads like GET.
    const [matches] = router.match(method === 'HEAD' ? 'GET' : method, path);
    return matches[0]?.[0] ?? 'admin';
  };
}
