import { describe, expect, it } from 'vitest';
import { cacheKey, createResponseCache } from './response-cache.js';
import type { ChatRequest, ChatResult } from './types.js';

const request: ChatRequest = {
  messages: [
    { role: 'system', content: 'classify' },
    { role: 'user', content: 'hello' },
  ],
  responseFormat: { type: 'json_object' },
  temperature: 0,
};

const answer = (content: string): ChatResult => ({
  message: { content, toolCalls: [] },
  usage: { promptTokens: 10, completionTokens: 2 },
  model: 'm',
  latencyMs: 5,
});

describe('cacheKey', () => {
  it('is equal for equal requests, whatever the key order of their objects', () => {
    const reordered: ChatRequest = {
      temperature: 0,
      responseFormat: { type: 'json_object' },
      messages: [
        { content: 'classify', role: 'system' },
        { content: 'hello', role: 'user' },
      ],
    };
    expect(cacheKey('a', 'm', reordered)).toBe(cacheKey('a', 'm', request));
  });

  it('differs by provider, model, messages, tools and response format', () => {
    const key = cacheKey('a', 'm', request);
    expect(cacheKey('b', 'm', request)).not.toBe(key);
    expect(cacheKey('a', 'n', request)).not.toBe(key);
    expect(cacheKey('a', 'm', { ...request, messages: [{ role: 'user', content: 'hello!' }] })).not.toBe(key);
    expect(cacheKey('a', 'm', { ...request, responseFormat: { type: 'text' } })).not.toBe(key);
    const tool = {
      type: 'function' as const,
      function: { name: 'echo', description: 'echo', parameters: { type: 'object' } },
    };
    expect(cacheKey('a', 'm', { ...request, tools: [tool] })).not.toBe(key);
  });

  it('caches temperature 0 and unset, never a warmer request', () => {
    expect(cacheKey('a', 'm', { messages: request.messages })).toBeDefined();
    expect(cacheKey('a', 'm', { ...request, temperature: 0.7 })).toBeUndefined();
  });
});

describe('createResponseCache', () => {
  it('returns a stored answer until its TTL passes', () => {
    let now = 1_000;
    const cache = createResponseCache({ ttlMs: 300_000, maxEntries: 10, now: () => now });
    cache.set('k', answer('one'));
    now += 299_999;
    expect(cache.get('k')?.message.content).toBe('one');
    now += 1;
    expect(cache.get('k')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('evicts the least recently used entry beyond maxEntries', () => {
    const cache = createResponseCache({ ttlMs: 60_000, maxEntries: 2 });
    cache.set('a', answer('a'));
    cache.set('b', answer('b'));
    cache.get('a');
    cache.set('c', answer('c'));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')?.message.content).toBe('a');
    expect(cache.get('c')?.message.content).toBe('c');
    expect(cache.size).toBe(2);
  });

  it('hands out copies, so a caller changing its answer leaves the cache intact', () => {
    const cache = createResponseCache({ ttlMs: 60_000, maxEntries: 2 });
    cache.set('k', answer('original'));
    cache.get('k')!.message.content = 'changed';
    expect(cache.get('k')?.message.content).toBe('original');
  });

  it('stores nothing with a TTL of 0', () => {
    const cache = createResponseCache({ ttlMs: 0, maxEntries: 10 });
    cache.set('k', answer('x'));
    expect(cache.get('k')).toBeUndefined();
  });
});
