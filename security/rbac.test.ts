import { describe, expect, it } from 'vitest';
import { can, highestRole, PERMISSIONS, type Permission, ROLES, type Role } from './rbac.js';

const expected: Record<Role, Permission[]> = {
  viewer: ['self:read', 'runs:read', 'jobs:read', 'payloads:decode'],
  member: ['self:read', 'runs:read', 'jobs:read', 'payloads:decode', 'messages:send'],
  approver: ['self:read', 'runs:read', 'jobs:read', 'payloads:decode', 'messages:send', 'runs:decide'],
  integration: ['self:read', 'runs:read', 'jobs:read', 'payloads:decode', 'messages:send', 'messages:act_for'],
  operator: [
    'self:read',
    'runs:read',
    'jobs:read',
    'payloads:decode',
    'messages:send',
    'runs:cancel',
    'payloads:encode',
  ],
  admin: [...PERMISSIONS],
};

describe('roles', () => {
  it.each(ROLES)('%s holds exactly its documented permissions', (role) => {
    const held = PERMISSIONS.filter((permission) => can([role], permission));
    expect(held.sort()).toEqual([...expected[role]].sort());
  });

  it('grants the union of several roles and nothing to none', () => {
    expect(can(['approver', 'operator'], 'runs:decide')).toBe(true);
    expect(can(['approver', 'operator'], 'runs:cancel')).toBe(true);
    expect(can(['approver', 'operator'], 'keys:manage')).toBe(false);
    expect(can([], 'runs:read')).toBe(false);
  });

  it('names the most privileged role', () => {
    expect(highestRole(['viewer', 'operator', 'member'])).toBe('operator');
    expect(highestRole([])).toBeUndefined();
  });
});
