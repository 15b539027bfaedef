import { describe, expect, it } from 'vitest';
import { createStreamGuards, may } from './stream-guards.js';

const settings = (overrides: Partial<Parameters<typeof createStreamGuards>[0]> = {}) => ({
  ipAllowlist: { api: [], webhooks: [] },
  trustedProxies: [],
  rateLimit: { perKeyPerMinute: 0, perIpPerMinute: 0 },
  ...overrides,
});

describe('createStreamGuards', () => {
  it('allows every address without an allowlist, and only listed ones with one', () => {
    expect(createStreamGuards(settings()).allows('203.0.113.9')).toBe(true);
    const guards = createStreamGuards(settings({ ipAllowlist: { api: ['10.0.0.0/8'], webhooks: [] } }));
    expect(guards.allows('10.1.2.3')).toBe(true);
    expect(guards.allows('203.0.113.9')).toBe(false);
    expect(guards.allows('')).toBe(false);
  });

  it('believes X-Forwarded-For only from a trusted proxy', () => {
    const guards = createStreamGuards(settings({ trustedProxies: ['127.0.0.1'] }));
    expect(guards.clientAddress('127.0.0.1', '198.51.100.7')).toBe('198.51.100.7');
    expect(guards.clientAddress('192.0.2.1', '198.51.100.7')).toBe('192.0.2.1');
    expect(guards.clientAddress(undefined, '198.51.100.7')).toBe('');
  });

  it('spends per-credential and per-address budgets, and 0 means unlimited', () => {
    const guards = createStreamGuards(settings({ rateLimit: { perKeyPerMinute: 2, perIpPerMinute: 1 } }));
    const principal = { keyId: 'k1', role: 'member' as const };
    expect(guards.takeForCredential(principal).ok).toBe(true);
    expect(guards.takeForCredential(principal).ok).toBe(true);
    expect(guards.takeForCredential(principal)).toMatchObject({ ok: false });
    expect(guards.takeForAddress('10.0.0.1').ok).toBe(true);
    expect(guards.takeForAddress('10.0.0.1').ok).toBe(false);
    const open = createStreamGuards(settings());
    for (let i = 0; i < 100; i++) expect(open.takeForCredential(principal).ok).toBe(true);
  });
});

describe('may', () => {
  it('checks every role a credential carries', () => {
    expect(may({ keyId: 'k', role: 'viewer' }, 'messages:send')).toBe(false);
    expect(may({ keyId: 'k', role: 'member' }, 'messages:send')).toBe(true);
    expect(may({ keyId: 'k', role: 'approver', roles: ['approver', 'viewer'] }, 'runs:read')).toBe(true);
  });
});
