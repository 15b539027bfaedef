import { describe, expect, it } from 'vitest';
import { createAddressMatcher, normalizeAddress, resolveClientAddress } from './client-ip.js';

const proxies = createAddressMatcher(['10.0.0.0/8', 'fd00::/8', '192.0.2.7']);

describe('resolveClientAddress', () => {
  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    expect(resolveClientAddress('203.0.113.9', '10.1.1.1', proxies)).toBe('203.0.113.9');
    expect(resolveClientAddress('203.0.113.9', '127.0.0.1, 10.0.0.1', proxies)).toBe('203.0.113.9');
    expect(resolveClientAddress('::ffff:203.0.113.9', '1.1.1.1', proxies)).toBe('203.0.113.9');
  });

  it('takes the nearest untrusted hop behind trusted proxies, not what the client wrote first', () => {
    // The client sent "X-Forwarded-For: 127.0.0.1"; the proxy appended the address it saw.
    expect(resolveClientAddress('10.0.0.5', '127.0.0.1, 198.51.100.4', proxies)).toBe('198.51.100.4');
    expect(resolveClientAddress('10.0.0.5', '198.51.100.4, 10.2.2.2', proxies)).toBe('198.51.100.4');
    expect(resolveClientAddress('192.0.2.7', '2001:db8::5', proxies)).toBe('2001:db8::5');
    expect(resolveClientAddress('fd00::1', '[2001:db8::5]:443', proxies)).toBe('2001:db8::5');
    expect(resolveClientAddress('10.0.0.5', '198.51.100.4:5678', proxies)).toBe('198.51.100.4');
  });

  it('stops at garbage and falls back to the last address it can vouch for', () => {
    expect(resolveClientAddress('10.0.0.5', 'not-an-ip', proxies)).toBe('10.0.0.5');
    expect(resolveClientAddress('10.0.0.5', '198.51.100.4, <script>', proxies)).toBe('10.0.0.5');
    expect(resolveClientAddress('10.0.0.5', '1.2.3.4, 999.1.1.1, 10.0.0.9', proxies)).toBe('10.0.0.9');
    expect(resolveClientAddress('10.0.0.5', `${'1.1.1.1,'.repeat(10_000)}x`, proxies)).toBe('10.0.0.5');
    expect(resolveClientAddress('10.0.0.5', '', proxies)).toBe('10.0.0.5');
  });

  it('returns the leftmost hop when every hop is a trusted proxy', () => {
    expect(resolveClientAddress('10.0.0.5', '10.0.0.1, 10.0.0.2', proxies)).toBe('10.0.0.1');
  });

  it('trusts nobody when no proxies are configured', () => {
    expect(resolveClientAddress('127.0.0.1', '198.51.100.4', createAddressMatcher([]))).toBe('127.0.0.1');
  });
});

describe('createAddressMatcher', () => {
  it('matches IPv4 and IPv6 addresses and ranges, including IPv4-mapped peers', () => {
    expect(proxies('10.255.0.1')).toBe(true);
    expect(proxies('::ffff:10.1.2.3')).toBe(true);
    expect(proxies('11.0.0.1')).toBe(false);
    expect(proxies('fd12:3456::1')).toBe(true);
    expect(proxies('fe80::1')).toBe(false);
    expect(proxies('192.0.2.7')).toBe(true);
    expect(proxies('192.0.2.8')).toBe(false);
    expect(proxies('garbage')).toBe(false);
    expect(normalizeAddress('::FFFF:1.2.3.4')).toBe('1.2.3.4');
  });
});
