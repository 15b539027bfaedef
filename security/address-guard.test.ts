import { describe, expect, it } from 'vitest';
import {
  BlockedAddressError,
  checkLiteralAddress,
  guardedLookup,
  isHostAllowed,
  isPublicAddress,
  mayReachPrivate,
} from './address-guard.js';

describe('isPublicAddress', () => {
  it.each([
    ['8.8.8.8', true],
    ['93.184.216.34', true],
    ['2606:4700:4700::1111', true],
    ['127.0.0.1', false],
    ['127.8.9.10', false],
    ['10.1.2.3', false],
    ['172.16.0.1', false],
    ['172.31.255.255', false],
    ['172.32.0.1', true],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['224.0.0.1', false],
    ['255.255.255.255', false],
    ['::1', false],
    ['::', false],
    ['fe80::1', false],
    ['fd12:3456::1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:169.254.169.254', false],
    ['::ffff:8.8.8.8', true],
    ['64:ff9b::a00:1', false],
    ['not-an-ip', false],
  ])('%s → %s', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });
});

describe('isHostAllowed and mayReachPrivate', () => {
  it.each([
    ['api.example.com', ['api.example.com'], true, true],
    ['API.Example.com', ['api.example.com'], true, true],
    ['api.example.com.', ['api.example.com'], true, true],
    ['evil-api.example.com', ['api.example.com'], false, false],
    ['api.example.com.evil.net', ['api.example.com'], false, false],
    ['a.b.example.org', ['*.example.org'], true, false],
    ['example.org', ['*.example.org'], false, false],
    ['badexample.org', ['*.example.org'], false, false],
    ['[::1]', ['::1'], true, true],
    ['anything.com', [], false, false],
  ])('%s with %j → allowed %s, private %s', (host, allowed, expected, privateOk) => {
    expect(isHostAllowed(host, allowed)).toBe(expected);
    expect(mayReachPrivate(host, allowed)).toBe(privateOk);
  });
});

describe('checkLiteralAddress', () => {
  it('refuses a private IP literal unless allowed, and ignores names', () => {
    expect(() => checkLiteralAddress('10.0.0.1', false)).toThrow(BlockedAddressError);
    expect(() => checkLiteralAddress('[::1]', false)).toThrow(/private or local/);
    expect(() => checkLiteralAddress('10.0.0.1', true)).not.toThrow();
    expect(() => checkLiteralAddress('8.8.8.8', false)).not.toThrow();
    expect(() => checkLiteralAddress('internal.example.com', false)).not.toThrow();
  });
});

describe('guardedLookup', () => {
  const lookupWith = (answers: Record<string, string[]>, allowPrivate: boolean, all: boolean) =>
    new Promise<{ error: unknown; address: unknown; family?: number }>((resolve) =>
      guardedLookup(allowPrivate, async (name) =>
        (answers[name] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
      )('host.test', { all }, (error, address, family) => resolve({ error, address, family })),
    );

  it('hands public answers to the socket in either callback shape', async () => {
    expect(await lookupWith({ 'host.test': ['93.184.216.34'] }, false, false)).toEqual({
      error: null,
      address: '93.184.216.34',
      family: 4,
    });
    expect((await lookupWith({ 'host.test': ['93.184.216.34', '2606:4700::1'] }, false, true)).address).toHaveLength(2);
  });

  it('refuses a name with any private answer, the rebinding case', async () => {
    const { error } = await lookupWith({ 'host.test': ['93.184.216.34', '127.0.0.1'] }, false, true);
    expect(error).toBeInstanceOf(BlockedAddressError);
    expect((error as Error).message).toBe(
      'host "host.test" resolves to 127.0.0.1, a private or local address; only hosts allow-listed by exact name may',
    );
  });

  it('lets an exactly allow-listed name reach a private address', async () => {
    expect((await lookupWith({ 'host.test': ['10.0.0.5'] }, true, false)).address).toBe('10.0.0.5');
  });

  it('reports a name without answers as not found', async () => {
    expect(((await lookupWith({}, false, false)).error as NodeJS.ErrnoException).code).toBe('ENOTFOUND');
  });
});
