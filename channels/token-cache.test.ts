import { describe, expect, it } from 'vitest';
import { createTokenCache } from './token-cache.js';

function issuer(expiresInSeconds = 7200) {
  let issued = 0;
  return {
    count: () => issued,
    issue: async () => ({ value: `token-${++issued}`, expiresInSeconds }),
  };
}

describe('token cache', () => {
  it('reuses a token until five minutes before it expires', async () => {
    let now = 0;
    const source = issuer(7200);
    const cache = createTokenCache(source.issue, () => new Date(now));
    expect(await cache.get()).toBe('token-1');
    now = (7200 - 301) * 1000;
    expect(await cache.get()).toBe('token-1');
    now = (7200 - 299) * 1000;
    expect(await cache.get()).toBe('token-2');
  });

  it('shares one in-flight refresh between concurrent callers', async () => {
    const source = issuer();
    const cache = createTokenCache(source.issue, () => new Date(0));
    const tokens = await Promise.all([cache.get(), cache.get(), cache.get()]);
    expect(tokens).toEqual(['token-1', 'token-1', 'token-1']);
    expect(source.count()).toBe(1);
  });

  it('invalidating a rejected token fetches a new one but keeps a newer token', async () => {
    const source = issuer();
    const cache = createTokenCache(source.issue, () => new Date(0));
    const first = await cache.get();
    cache.invalidate(first);
    expect(await cache.get()).toBe('token-2');
    cache.invalidate(first);
    expect(await cache.get()).toBe('token-2');
  });

  it('a failed refresh is not cached: the next call tries again', async () => {
    let attempts = 0;
    const cache = createTokenCache(
      async () => {
        attempts += 1;
        if (attempts === 1) throw new Error('platform down');
        return { value: 'ok', expiresInSeconds: 7200 };
      },
      () => new Date(0),
    );
    await expect(cache.get()).rejects.toThrow('platform down');
    expect(await cache.get()).toBe('ok');
  });

  it('a short-lived token is still reused for half of its remaining life', async () => {
    let now = 0;
    const source = issuer(120);
    const cache = createTokenCache(source.issue, () => new Date(now));
    await cache.get();
    now = 59_000;
    expect(await cache.get()).toBe('token-1');
    now = 61_000;
    expect(await cache.get()).toBe('token-2');
  });
});
