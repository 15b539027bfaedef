// Remembers model answers to identical requests for a short while (an in-memory LRU bounded by entries, per
// process), so a retried activity or a repeated question costs no second call. Only deterministic-ish requests
// (temperature 0 or unset) are cached: anything warmer asks for variety.
import { createHash } from 'node:crypto';
import type { ChatRequest, ChatResult } from './types.js';

export interface ResponseCache {
  get(key: string): ChatResult | undefined;
  set(key: string, result: ChatResult): void;
  readonly size: number;
}

export interface ResponseCacheOptions {
  ttlMs: number;
  maxEntries: number;
  now?: () => number;
}

/** The cache key of a request to one provider and model, or undefined when the request must not be cached. */
export function cacheKey(provider: string, model: string, request: ChatRequest): string | undefined {
  if (request.temperature !== undefined && request.temperature !== 0) return undefined;
  const material = stableJson({
    provider,
    model,
    messages: request.messages,
    tools: request.tools ?? [],
    responseFormat: request.responseFormat ?? null,
    temperature: request.temperature ?? null,
  });
  return createHash('sha256').update(material).digest('base64url');
}

export function createResponseCache(options: ResponseCacheOptions): ResponseCache {
  const now = options.now ?? Date.now;
  // A Map iterates in insertion order: re-inserting on every hit keeps the least recently used first.
  const entries = new Map<string, { result: ChatResult; expiresAt: number }>();
  return {
    get size() {
      return entries.size;
    },
    get(key) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      entries.delete(key);
      if (entry.expiresAt <= now()) return undefined;
      entries.set(key, entry);
      return structuredClone(entry.result);
    },
    set(key, result) {
      if (options.ttlMs <= 0 || options.maxEntries <= 0) return;
      entries.delete(key);
      entries.set(key, { result: structuredClone(result), expiresAt: now() + options.ttlMs });
      while (entries.size > options.maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest === undefined) break;
        entries.delete(oldest);
      }
    },
  };
}

/** JSON with object keys sorted, so two equal requests built in a different key order hash alike. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
}
