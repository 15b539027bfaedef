import { describe, expect, it } from 'vitest';
import { createTokenBuckets } from './token-bucket.js';

describe('token buckets', () => {
  it('allows a burst of one minute’s worth, then refuses with the wait until the next token', () => {
    let now = 0;
    const buckets = createTokenBuckets({ perMinute: 3, now: () => now });
    expect([1, 2, 3].map(() => buckets.take('a').ok)).toEqual([true, true, true]);
    expect(buckets.take('a')).toEqual({ ok: false, retryAfterSeconds: 20 });
    now += 10_000;
    expect(buckets.take('a')).toEqual({ ok: false, retryAfterSeconds: 10 });
    now += 10_000;
    expect(buckets.take('a').ok).toBe(true);
    expect(buckets.take('b').ok).toBe(true);
  });

  it('never reports a Retry-After below one second', () => {
    let now = 0;
    const buckets = createTokenBuckets({ perMinute: 6000, now: () => now });
    for (let i = 0; i < 6000; i += 1) buckets.take('a');
    now += 5;
    expect(buckets.take('a')).toEqual({ ok: false, retryAfterSeconds: 1 });
  });

  it('keeps memory bounded when callers invent new keys', () => {
    let now = 0;
    const buckets = createTokenBuckets({ perMinute: 10, maxKeys: 100, now: () => now });
    for (let i = 0; i < 10_000; i += 1) {
      now += 1;
      buckets.take(`attacker-${i}`);
    }
    expect(buckets.size).toBeLessThanOrEqual(100);
  });

  it('evicts idle callers before busy ones', () => {
    let now = 0;
    const buckets = createTokenBuckets({ perMinute: 2, maxKeys: 2, now: () => now });
    buckets.take('busy');
    buckets.take('busy');
    buckets.take('idle');
    now += 60_000;
    buckets.take('busy');
    buckets.take('busy');
    buckets.take('newcomer');
    // 'idle' (full again) was dropped; 'busy' kept its empty bucket.
    expect(buckets.take('busy').ok).toBe(false);
  });
});
