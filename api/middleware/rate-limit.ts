// Token-bucket rate limiting per caller (client address before authentication, principal after). Over
// the limit: 429 with Retry-After. Buckets live in this process's memory (see security/token-bucket.ts).
import type { Context, MiddlewareHandler } from 'hono';
import { RateLimitedError } from '../../core/errors.js';
import { createTokenBuckets } from '../../security/token-bucket.js';

export function rateLimit<E extends { Variables: object }>(options: {
  perMinute: number;
  /** The caller's bucket; undefined skips the limit for this request. */
  key: (c: Context<E>) => string | undefined;
  what: string;
  now?: () => number;
}): MiddlewareHandler<E> {
  const buckets = createTokenBuckets({ perMinute: options.perMinute, now: options.now });
  return async (c, next) => {
    const key = options.key(c);
    if (key !== undefined && options.perMinute > 0) {
      const taken = buckets.take(key);
      if (!taken.ok) {
        throw new RateLimitedError(
          `too many requests ${options.what}; retry in ${taken.retryAfterSeconds} s`,
          taken.retryAfterSeconds,
        );
      }
    }
    await next();
  };
}
