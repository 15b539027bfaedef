import { describe, expect, it } from 'vitest';
import { createPermissionLookup } from './route-permissions.js';

const permissionFor = createPermissionLookup();

describe('route permissions', () => {
  it('maps each management route to its permission', () => {
    expect(permissionFor('GET', '/v1/runs/message:api:1')).toBe('runs:read');
    expect(permissionFor('HEAD', '/v1/runs/message:api:1')).toBe('runs:read');
    expect(permissionFor('GET', '/v1/runs/message:api:1/events')).toBe('runs:read');
    expect(permissionFor('GET', '/v1/jobs')).toBe('jobs:read');
    expect(permissionFor('POST', '/v1/messages')).toBe('messages:send');
    expect(permissionFor('POST', '/v1/runs/x/approve')).toBe('runs:decide');
    expect(permissionFor('POST', '/v1/runs/x/reject')).toBe('runs:decide');
    expect(permissionFor('POST', '/v1/runs/x/cancel')).toBe('runs:cancel');
    expect(permissionFor('POST', '/v1/keys')).toBe('keys:manage');
    expect(permissionFor('DELETE', '/v1/keys/key_1')).toBe('keys:manage');
    expect(permissionFor('GET', '/v1/schedules')).toBe('runs:read');
    expect(permissionFor('POST', '/v1/schedules')).toBe('messages:send');
    expect(permissionFor('DELETE', '/v1/schedules/s-1')).toBe('messages:send');
    expect(permissionFor('POST', '/codec/decode')).toBe('payloads:decode');
    expect(permissionFor('POST', '/codec/encode')).toBe('payloads:encode');
    expect(permissionFor('GET', '/v1/audit')).toBe('audit:read');
    expect(permissionFor('POST', '/v1/audit/verify')).toBe('audit:read');
    expect(permissionFor('POST', '/v1/privacy/purge')).toBe('privacy:manage');
    expect(permissionFor('GET', '/v1/privacy/users/feishu/ou_1/export')).toBe('privacy:manage');
    expect(permissionFor('DELETE', '/v1/privacy/users/feishu/ou_1')).toBe('privacy:manage');
  });

  it('closes anything not in the table to all but admins', () => {
    expect(permissionFor('DELETE', '/v1/runs/x')).toBe('admin');
    expect(permissionFor('POST', '/v1/runs/x/terminate')).toBe('admin');
    expect(permissionFor('GET', '/v1/something-new')).toBe('admin');
    expect(permissionFor('POST', '/v1/jobs')).toBe('admin');
  });
});
