// Roles and what each may do. A role is a fixed set of permissions (not a ladder): an approver decides on
// waiting work but cannot cancel it, an operator cancels but does not approve. Admin may do everything.
export const ROLES = ['admin', 'operator', 'approver', 'integration', 'member', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  /** Read one's own identity (GET /v1/whoami). */
  'self:read',
  'runs:read',
  'jobs:read',
  'messages:send',
  /**
   * Name another sender than oneself on Conduit's own channels (api, ws, grpc): a trusted integration relaying
   * its users' messages. Each use is audit-logged (`message.act_for`) with both identities.
   */
  'messages:act_for',
  'runs:decide',
  'runs:cancel',
  'payloads:decode',
  'payloads:encode',
  'keys:manage',
  /** Read and verify the audit log (GET /v1/audit): admins only. */
  'audit:read',
  /** Purge, export and erase personal data (/v1/privacy): admins only. */
  'privacy:manage',
  /** Anything not listed in a route table: only admins, so a new route is closed until someone opens it. */
  'admin',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const READ: Permission[] = ['self:read', 'runs:read', 'jobs:read', 'payloads:decode'];

export const ROLE_PERMISSIONS: Record<Role, ReadonlySet<Permission>> = {
  viewer: new Set(READ),
  member: new Set([...READ, 'messages:send']),
  // A bridge in front of Conduit (a help desk, an intranet chat) that speaks for its own signed-in users.
  integration: new Set([...READ, 'messages:send', 'messages:act_for']),
  approver: new Set([...READ, 'messages:send', 'runs:decide']),
  operator: new Set([...READ, 'messages:send', 'runs:cancel', 'payloads:encode']),
  admin: new Set(PERMISSIONS),
};

export const isRole = (value: string): value is Role => (ROLES as readonly string[]).includes(value);

export function can(roles: readonly Role[], permission: Permission): boolean {
  return roles.some((role) => ROLE_PERMISSIONS[role].has(permission));
}

/** The most privileged of several roles (ROLES is ordered from most to least). */
export function highestRole(roles: readonly Role[]): Role | undefined {
  return ROLES.find((role) => roles.includes(role));
}
