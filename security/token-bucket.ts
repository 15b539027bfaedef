// In-memory token buckets keyed by caller (API key, client address). Per process: N API replicas allow N
// times the rate. Memory is bounded: idle (full) buckets are dropped first, then the oldest.

export interface TokenBucketOptions {
  /** Sustained rate; the bucket also holds this many tokens, so an idle caller may burst one minute's worth. */
  perMinute: number;
  /** Most callers tracked at once. */
  maxKeys?: number;
  now?: () => number;
}

export type TakeResult = { ok: true; remaining: number } | { ok: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  at: number;
}

export function createTokenBuckets({ perMinute, maxKeys = 100_000, now = Date.now }: TokenBucketOptions) {
  const capacity = perMinute;
  const perMs = perMinute / 60_000;
  const buckets = new Map<string, Bucket>();

  const refill = (bucket: Bucket, at: number) => {
    bucket.tokens = Math.min(capacity, bucket.tokens + (at - bucket.at) * perMs);
    bucket.at = at;
  };

  const evict = (at: number) => {
    for (const [key, bucket] of buckets) {
      refill(bucket, at);
      if (bucket.tokens >= capacity) buckets.delete(key);
    }
    // Map order is insertion order: what remains over the cap goes oldest first.
    for (const key of buckets.keys()) {
      if (buckets.size < maxKeys) break;
      buckets.delete(key);
    }
  };

  return {
    take(key: string): TakeResult {
      const at = now();
      let bucket = buckets.get(key);
      if (!bucket) {
        if (buckets.size >= maxKeys) evict(at);
        bucket = { tokens: capacity, at };
        buckets.set(key, bucket);
      }
      refill(bucket, at);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return { ok: true, remaining: Math.floor(bucket.tokens) };
      }
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000)) };
    },
    get size() {
      return buckets.size;
    },
  };
}

export type TokenBuckets = ReturnType<typeof createTokenBuckets>;
