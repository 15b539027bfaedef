import { describe, expect, it } from 'vitest';
import { createMetrics } from '../core/metrics.js';
import { type BreakerSettings, createCircuitBreaker } from './breaker.js';
import { isRetryableStatus, LlmRequestError, LlmUnavailableError } from './errors.js';
import { classifyIntentWithLlm } from './intent.js';
import type { ResolvedProvider } from './presets.js';
import { createResponseCache } from './response-cache.js';
import { createLlmRouter, type ProviderSlot } from './router.js';
import { createSemaphore } from './semaphore.js';
import type { ChatOptions, ChatRequest } from './types.js';

type Step = { text: string; delayMs?: number } | LlmRequestError;

interface ScriptedSlot extends ProviderSlot {
  calls: Array<{ request: ChatRequest; options?: ChatOptions }>;
}

/** A provider answering from a script, in order; an unscripted call answers with the provider's name. */
const clock = { now: 0 };

function scripted(
  name: string,
  baseUrl: string,
  steps: Step[] = [],
  extra: Partial<ResolvedProvider> = {},
  breaker: BreakerSettings = { failures: 3, cooldownMs: 10_000 },
): ScriptedSlot {
  const provider: ResolvedProvider = { name, baseUrl, model: `${name}-model`, remote: true, timeoutMs: 1000, ...extra };
  const calls: ScriptedSlot['calls'] = [];
  return {
    provider,
    calls,
    breaker: createCircuitBreaker({ ...breaker, now: () => clock.now }),
    limiter: provider.maxConcurrency ? createSemaphore(provider.maxConcurrency) : undefined,
    client: {
      provider: name,
      model: provider.model,
      async chat(request, options) {
        calls.push({ request, options });
        const step = steps.shift() ?? { text: `from ${name}` };
        if (step instanceof LlmRequestError) throw step;
        if (step.delayMs) await new Promise((resolve) => setTimeout(resolve, step.delayMs));
        return {
          message: { content: step.text, toolCalls: [] },
          usage: { promptTokens: 7, completionTokens: 3 },
          model: provider.model,
          latencyMs: step.delayMs ?? 0,
        };
      },
    },
  };
}

const http = (status: number, retryAfterMs?: number) =>
  new LlmRequestError(`vendor: HTTP ${status}`, status, undefined, {
    retryable: isRetryableStatus(status),
    retryAfterMs,
  });
const timeout = () => new LlmRequestError('vendor: request timed out', undefined, undefined, { retryable: true });

const ask = (content = 'hi', temperature?: number): ChatRequest => ({
  messages: [{ role: 'user', content }],
  temperature,
});

async function failure(promise: Promise<unknown>): Promise<LlmRequestError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(LlmRequestError);
  return error as LlmRequestError;
}

describe('createLlmRouter', () => {
  it('answers from the first provider and never calls the next', async () => {
    const primary = scripted('primary', 'https://a.example/v1');
    const backup = scripted('backup', 'https://b.example/v1');
    const router = createLlmRouter('plan', [primary, backup]);
    const result = await router.chat(ask());
    expect(result.message.content).toBe('from primary');
    expect(result.servedBy).toEqual({ provider: 'primary', model: 'primary-model', cached: false });
    expect(backup.calls).toHaveLength(0);
  });

  it.each([
    ['a 503', http(503)],
    ['a 429', http(429)],
    ['a timeout', timeout()],
    ['a refused connection', new LlmRequestError('a: connection failed', undefined, undefined, { retryable: true })],
  ])('fails over to the next provider after %s', async (_name, error) => {
    const primary = scripted('primary', 'https://a.example/v1', [error]);
    const backup = scripted('backup', 'https://a.example/v1');
    const result = await createLlmRouter('plan', [primary, backup]).chat(ask());
    expect(result.message.content).toBe('from backup');
    expect(result.servedBy?.provider).toBe('backup');
  });

  it.each([400, 401])('does not fail over after a %s to a provider of the same vendor', async (status) => {
    const primary = scripted('primary', 'https://a.example/v1', [http(status)]);
    const sameVendor = scripted('same', 'https://a.example/v1');
    const error = await failure(createLlmRouter('plan', [primary, sameVendor]).chat(ask()));
    expect(error.status).toBe(status);
    expect(error.retryable).toBe(false);
    expect(sameVendor.calls).toHaveLength(0);
  });

  it('after a refusal skips the vendor that refused and tries another vendor', async () => {
    const primary = scripted('primary', 'https://a.example/v1', [http(401)]);
    const sameVendor = scripted('same', 'https://a.example/v2');
    const otherVendor = scripted('other', 'https://b.example/v1');
    const result = await createLlmRouter('plan', [primary, sameVendor, otherVendor]).chat(ask());
    expect(result.servedBy?.provider).toBe('other');
    expect(sameVendor.calls).toHaveLength(0);
  });

  it('throws a retryable error with the largest Retry-After once every provider failed retryably', async () => {
    const primary = scripted('primary', 'https://a.example/v1', [http(429, 2_000)]);
    const backup = scripted('backup', 'https://b.example/v1', [http(503, 7_000)]);
    const third = scripted('third', 'https://c.example/v1', [timeout()]);
    const error = await failure(createLlmRouter('plan', [primary, backup, third]).chat(ask()));
    expect(error).toBeInstanceOf(LlmUnavailableError);
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBe(7_000);
    expect((error as LlmUnavailableError).failures.map((failure) => failure.status)).toEqual([429, 503, undefined]);
    expect(error.message).toContain('plan');
  });

  it('stays retryable when one provider was unavailable and another refused', async () => {
    const primary = scripted('primary', 'https://a.example/v1', [http(503)]);
    const backup = scripted('backup', 'https://b.example/v1', [http(400)]);
    const error = await failure(createLlmRouter('plan', [primary, backup]).chat(ask()));
    expect(error).toBeInstanceOf(LlmUnavailableError);
    expect(error.retryAfterMs).toBeUndefined();
  });

  it('skips a provider until the Retry-After it sent has passed', async () => {
    const primary = scripted('primary', 'https://a.example/v1', [http(429, 5_000)]);
    const backup = scripted('backup', 'https://b.example/v1');
    const router = createLlmRouter('plan', [primary, backup]);
    expect((await router.chat(ask('one'))).servedBy?.provider).toBe('backup');
    clock.now += 4_000;
    expect((await router.chat(ask('two'))).servedBy?.provider).toBe('backup');
    expect(primary.calls).toHaveLength(1);
    clock.now += 1_000;
    expect((await router.chat(ask('three'))).servedBy?.provider).toBe('primary');
  });

  it('calls nobody while every provider is waiting out a Retry-After, and says how long to wait', async () => {
    const only = scripted('only', 'https://a.example/v1', [http(429, 3_000)]);
    const router = createLlmRouter('plan', [only]);
    expect((await failure(router.chat(ask()))).retryAfterMs).toBe(3_000);
    clock.now += 1_000;
    const error = await failure(router.chat(ask()));
    expect(error).toBeInstanceOf(LlmUnavailableError);
    expect(error.retryAfterMs).toBe(2_000);
    expect(only.calls).toHaveLength(1);
  });

  it('serves an identical deterministic request from the cache, counting the hit', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const primary = scripted('primary', 'https://a.example/v1', [{ text: 'first' }, { text: 'second' }]);
    const cache = createResponseCache({ ttlMs: 60_000, maxEntries: 10 });
    const router = createLlmRouter('intent', [primary], { cache, metrics });

    expect((await router.chat(ask('same', 0))).message.content).toBe('first');
    const again = await router.chat(ask('same', 0));
    expect(again.message.content).toBe('first');
    expect(again.servedBy).toEqual({ provider: 'primary', model: 'primary-model', cached: true });
    expect(again.usage).toEqual({ promptTokens: 7, completionTokens: 3 });
    expect(primary.calls).toHaveLength(1);
    expect((await metrics.llmCacheHits.get()).values).toEqual([
      { labels: { provider: 'primary', model: 'primary-model' }, value: 1 },
    ]);

    expect((await router.chat(ask('same', 0.8))).message.content).toBe('second');
    expect(primary.calls).toHaveLength(2);
  });

  it('uses an answer a failover provider cached without calling the failing primary again', async () => {
    const primary = scripted('primary', 'https://a.example/v1', [http(503), http(503)]);
    const backup = scripted('backup', 'https://b.example/v1', [{ text: 'from the backup' }]);
    const cache = createResponseCache({ ttlMs: 60_000, maxEntries: 10 });
    const router = createLlmRouter('intent', [primary, backup], { cache });
    await router.chat(ask('q'));
    const again = await router.chat(ask('q'));
    expect(again).toMatchObject({ message: { content: 'from the backup' }, servedBy: { cached: true } });
    expect(primary.calls).toHaveLength(1);
    expect(backup.calls).toHaveLength(1);
  });

  it('times every provider call by provider, model and result', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const primary = scripted('primary', 'https://a.example/v1', [http(503)]);
    const backup = scripted('backup', 'https://b.example/v1');
    await createLlmRouter('plan', [primary, backup], { metrics }).chat(ask());
    const counts = (await metrics.llmCalls.get()).values
      .filter((value) => value.metricName === 'conduit_llm_call_duration_seconds_count')
      .map((value) => [value.labels.provider, value.labels.result, value.value]);
    expect(counts).toEqual(
      expect.arrayContaining([
        ['primary', 'error', 1],
        ['backup', 'ok', 1],
      ]),
    );
  });

  it('holds calls beyond maxConcurrency in a queue and passes on what is left of the timeout', async () => {
    const busy = scripted('busy', 'https://a.example/v1', [{ text: 'slow', delayMs: 150 }, { text: 'queued' }], {
      maxConcurrency: 1,
      timeoutMs: 1_000,
    });
    const router = createLlmRouter('plan', [busy]);
    const [slow, queued] = await Promise.all([router.chat(ask('a')), router.chat(ask('b'))]);
    expect([slow.message.content, queued.message.content]).toEqual(['slow', 'queued']);
    const [first, second] = busy.calls.map((call) => call.options?.timeoutMs ?? 0);
    expect(first).toBeGreaterThan(990);
    expect(second).toBeLessThanOrEqual(870);
  });

  it('fails over when no slot frees up within the provider timeout', async () => {
    const busy = scripted('busy', 'https://a.example/v1', [{ text: 'slow', delayMs: 300 }], {
      maxConcurrency: 1,
      timeoutMs: 50,
    });
    const backup = scripted('backup', 'https://b.example/v1');
    const router = createLlmRouter('plan', [busy, backup]);
    const slow = router.chat(ask('a'));
    const overflow = await router.chat(ask('b'));
    expect(overflow.servedBy?.provider).toBe('backup');
    expect((await slow).message.content).toBe('slow');
  });
});

describe('createLlmRouter with circuit breakers', () => {
  it('goes straight to the backup once the primary failed enough times in a row, without calling it', async () => {
    const primary = scripted('primary', 'https://a.example/v1', [http(503), timeout(), http(502)]);
    const backup = scripted('backup', 'https://b.example/v1');
    const router = createLlmRouter('plan', [primary, backup]);
    for (let i = 0; i < 3; i += 1) expect((await router.chat(ask(`q${i}`))).servedBy?.provider).toBe('backup');
    expect(primary.breaker.state).toBe('open');
    for (let i = 0; i < 5; i += 1) expect((await router.chat(ask(`r${i}`))).servedBy?.provider).toBe('backup');
    expect(primary.calls).toHaveLength(3);
  });

  it('fails fast with the remaining cool-down once every provider is open, calling nobody', async () => {
    const primary = scripted('primary', 'https://a.example/v1', [http(503), http(503), http(503)]);
    const backup = scripted('backup', 'https://b.example/v1', [http(500), http(500), http(500)]);
    const router = createLlmRouter('plan', [primary, backup]);
    const errors = [];
    for (let i = 0; i < 3; i += 1) errors.push(await failure(router.chat(ask(`q${i}`))));
    expect(errors.map((error) => error.retryAfterMs)).toEqual([undefined, undefined, 10_000]);
    clock.now += 4_000;
    const error = await failure(router.chat(ask('while open')));
    expect(error).toBeInstanceOf(LlmUnavailableError);
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBe(6_000);
    expect(error.message).toContain('held back');
    expect([primary.calls.length, backup.calls.length]).toEqual([3, 3]);
  });

  it('probes the primary after the cool-down and returns to it when the probe answers', async () => {
    const primary = scripted('primary', 'https://a.example/v1', [http(503), http(503), http(503), { text: 'back' }]);
    const backup = scripted('backup', 'https://b.example/v1');
    const router = createLlmRouter('plan', [primary, backup]);
    for (let i = 0; i < 3; i += 1) await router.chat(ask(`q${i}`));
    clock.now += 10_000;
    expect((await router.chat(ask('probe'))).message.content).toBe('back');
    expect(primary.breaker.state).toBe('closed');
    expect((await router.chat(ask('after'))).servedBy?.provider).toBe('primary');
  });

  it('sends other calls to the backup while the probe is out', async () => {
    const primary = scripted('primary', 'https://a.example/v1', [
      http(503),
      http(503),
      http(503),
      { text: 'slow probe', delayMs: 50 },
    ]);
    const backup = scripted('backup', 'https://b.example/v1');
    const router = createLlmRouter('plan', [primary, backup]);
    for (let i = 0; i < 3; i += 1) await router.chat(ask(`q${i}`));
    clock.now += 10_000;
    const probe = router.chat(ask('probe'));
    const during = await router.chat(ask('during'));
    expect(during.servedBy?.provider).toBe('backup');
    expect((await probe).servedBy?.provider).toBe('primary');
    expect(primary.calls).toHaveLength(4);
  });

  it('when nothing else can answer, waits for a probe that is out instead of failing at once', async () => {
    const only = scripted('only', 'https://a.example/v1', [
      http(503),
      http(503),
      http(503),
      { text: 'probe answer', delayMs: 30 },
      { text: 'waited for the probe' },
    ]);
    const router = createLlmRouter('plan', [only]);
    for (let i = 0; i < 3; i += 1) await failure(router.chat(ask(`q${i}`)));
    clock.now += 10_000;
    const probe = router.chat(ask('probe'));
    const waiting = await router.chat(ask('waiting'));
    expect(waiting.message.content).toBe('waited for the probe');
    expect((await probe).message.content).toBe('probe answer');
  });

  it('after waiting for a probe that failed, says to wait the fresh cool-down', async () => {
    const only = scripted('only', 'https://a.example/v1', [
      http(503),
      http(503),
      http(503),
      new LlmRequestError('only: HTTP 503', 503, undefined, { retryable: true }),
    ]);
    const slow = only.client.chat.bind(only.client);
    only.client.chat = async (request, options) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return slow(request, options);
    };
    const router = createLlmRouter('plan', [only]);
    for (let i = 0; i < 3; i += 1) await failure(router.chat(ask(`q${i}`)));
    clock.now += 10_000;
    const probe = failure(router.chat(ask('probe')));
    const waiting = await failure(router.chat(ask('waiting')));
    expect(waiting.retryAfterMs).toBe(10_000);
    expect((await probe).retryAfterMs).toBe(10_000);
    expect(only.calls).toHaveLength(4);
  });

  it('does not count refusals of the request against the provider', async () => {
    const primary = scripted('primary', 'https://a.example/v1', [http(400), http(422), http(400), http(400)]);
    const backup = scripted('backup', 'https://b.example/v1');
    const router = createLlmRouter('plan', [primary, backup]);
    for (let i = 0; i < 4; i += 1) await router.chat(ask(`q${i}`));
    expect(primary.breaker.state).toBe('closed');
    expect(primary.calls).toHaveLength(4);
  });

  it('opens for exactly the Retry-After of a 429, however short, never busy-looping on the provider', async () => {
    const only = scripted('only', 'https://a.example/v1', [http(429, 1_500)]);
    const router = createLlmRouter('plan', [only]);
    expect((await failure(router.chat(ask('a')))).retryAfterMs).toBe(1_500);
    for (let i = 0; i < 20; i += 1) await failure(router.chat(ask(`b${i}`)));
    expect(only.calls).toHaveLength(1);
    clock.now += 1_500;
    expect((await router.chat(ask('c'))).servedBy?.provider).toBe('only');
  });
});

describe('intent classification behind a router', () => {
  it('falls back to json_object when the only provider that answered refused json_schema', async () => {
    const primary = scripted('primary', 'https://a.example/v1', [http(503), http(503)]);
    const backup = scripted('backup', 'https://b.example/v1', [
      http(400),
      { text: '{"intent":"task","confidence":0.7,"reason":"asks for work"}' },
    ]);
    const result = await classifyIntentWithLlm(createLlmRouter('intent', [primary, backup]), 'do it');
    expect(result).toEqual({ intent: 'task', confidence: 0.7, reason: 'asks for work' });
    expect(backup.calls.map((call) => call.request.responseFormat?.type)).toEqual(['json_schema', 'json_object']);
  });
});
