// One role's model (intent, plan) behind an ordered failover list of providers, as a plain LlmClient. Answers
// come from the response cache when they can, otherwise from the first provider that answers; failing over is
// decided per error (see canFailOver and docs/llm.md), and a provider whose circuit breaker is open (llm/breaker.ts)
// is skipped without a call. Never retries a provider itself: Temporal owns retries.
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { type BreakerTicket, type CircuitBreaker, PROBE_WAIT_MS } from './breaker.js';
import { LlmRequestError, LlmUnavailableError, MAX_RETRY_AFTER_MS } from './errors.js';
import type { ResolvedProvider } from './presets.js';
import { cacheKey, type ResponseCache } from './response-cache.js';
import { QueueTimeoutError, type Semaphore } from './semaphore.js';
import type { ChatOptions, ChatRequest, ChatResult, LlmClient } from './types.js';

/** One configured provider, shared by every role that lists it (one queue and one breaker per provider). */
export interface ProviderSlot {
  provider: ResolvedProvider;
  client: LlmClient;
  limiter?: Semaphore;
  /** Opens on failures in a row and on the provider's Retry-After; while open the provider is not called. */
  breaker: CircuitBreaker;
  /** When the provider last answered and last failed (the console's health screen reads it). */
  record?: ProviderRecord;
}

export interface ProviderRecord {
  /** The provider answered, a refusal of the request included (as the breaker counts it). */
  lastSuccessAt?: Date;
  /** A failure of the provider itself: what its breaker counts, and a Retry-After. */
  lastFailureAt?: Date;
}

export interface RouterDeps {
  cache?: ResponseCache;
  metrics?: Pick<Metrics, 'llmCalls' | 'llmCacheHits'>;
  logger?: Logger;
}

/** Providers at one origin (scheme, host, port of the base URL) are one vendor: they refuse the same requests. */
export function vendorOf(provider: ResolvedProvider): string {
  return new URL(provider.baseUrl).origin;
}

/**
 * Whether a provider's failure lets the router try `next`. Throttling, server errors, timeouts and connection
 * failures (retryable errors) always do. A refusal (400, 401, 403, 404, 422: the request or the credentials
 * were rejected) only does when `next` is another vendor: the same vendor would refuse the same request.
 */
export function canFailOver(error: LlmRequestError, failed: ResolvedProvider, next: ResolvedProvider): boolean {
  return error.retryable || vendorOf(failed) !== vendorOf(next);
}

/**
 * Whether a failure says the provider itself is unwell, for its breaker: server errors, throttling without a
 * Retry-After, timeouts, connection failures and broken or empty responses (every retryable error). A refusal
 * of the request (4xx) proves the provider is up, so it counts as an answer.
 */
export function countsAgainstProvider(error: LlmRequestError): boolean {
  return error.retryable;
}

export function createLlmRouter(role: string, slots: ProviderSlot[], deps: RouterDeps = {}): LlmClient {
  const primary = slots[0];
  if (!primary) throw new Error(`the ${role} role lists no provider`);

  const fromCache = (request: ChatRequest): ChatResult | undefined => {
    if (!deps.cache) return undefined;
    for (const { provider } of slots) {
      const key = cacheKey(provider.name, provider.model, request);
      const hit = key === undefined ? undefined : deps.cache.get(key);
      if (hit) {
        deps.metrics?.llmCacheHits.inc({ provider: provider.name, model: provider.model });
        return { ...hit, servedBy: { provider: provider.name, model: provider.model, cached: true } };
      }
    }
    return undefined;
  };

  return {
    provider: primary.provider.name,
    model: primary.provider.model,
    async chat(request: ChatRequest, options: ChatOptions = {}): Promise<ChatResult> {
      const cached = fromCache(request);
      if (cached) return cached;

      const failures: Array<{ slot: ProviderSlot; error: LlmRequestError }> = [];
      let heldBack: ProviderSlot[] = [];
      const tryInOrder = async (candidates: ProviderSlot[]): Promise<ChatResult | undefined> => {
        for (const slot of candidates) {
          if (failures.some((failure) => !canFailOver(failure.error, failure.slot.provider, slot.provider))) continue;
          const admission = slot.breaker.admit();
          if (!admission.admitted) {
            heldBack.push(slot);
            continue;
          }
          try {
            const result = await callProvider(slot, admission.ticket, request, options, deps);
            const key = deps.cache && cacheKey(slot.provider.name, slot.provider.model, request);
            if (key) deps.cache?.set(key, result);
            return { ...result, servedBy: { provider: slot.provider.name, model: slot.provider.model, cached: false } };
          } catch (caught) {
            const error = asLlmError(caught, slot.provider.name);
            failures.push({ slot, error });
            if (options.signal?.aborted) throw error;
            deps.logger?.warn(
              { role, provider: slot.provider.name, model: slot.provider.model, error: error.message },
              'model call failed',
            );
          }
        }
        return undefined;
      };
      const answered = await tryInOrder(slots);
      if (answered) return answered;
      // Nothing else answered, but a provider's probe is out: its outcome is usually a moment away, and waiting
      // for it here saves this run a whole attempt (and the cool-down a failed probe would start).
      const probing = heldBack.filter((slot) => slot.breaker.probeSettled() !== undefined);
      if (probing.length > 0 && !options.signal?.aborted) {
        await firstSettled(probing, PROBE_WAIT_MS);
        heldBack = heldBack.filter((slot) => !probing.includes(slot));
        const late = await tryInOrder(probing);
        if (late) return late;
      }
      throw exhausted(role, slots, failures, heldBack);
    },
  };
}

/**
 * One attempt at one provider: queue for a slot, then call with whatever is left of the provider's timeout. The
 * outcome is told to the provider's breaker; a call that never left the queue, or was cancelled, tells it nothing.
 */
async function callProvider(
  slot: ProviderSlot,
  ticket: BreakerTicket,
  request: ChatRequest,
  options: ChatOptions,
  deps: RouterDeps,
): Promise<ChatResult> {
  const { provider, breaker } = slot;
  const budgetMs = options.timeoutMs ?? provider.timeoutMs;
  const queued = performance.now();
  let release: (() => void) | undefined;
  try {
    release = await slot.limiter?.acquire(budgetMs, options.signal);
  } catch (error) {
    breaker.abandoned(ticket);
    if (!(error instanceof QueueTimeoutError)) throw error;
    throw new LlmRequestError(
      `${provider.name}: ${provider.maxConcurrency} requests already in flight, none finished within ${budgetMs} ms`,
      undefined,
      undefined,
      { retryable: true },
    );
  }
  const labels = { provider: provider.name, model: provider.model };
  const end = deps.metrics?.llmCalls.startTimer(labels);
  try {
    const remainingMs = Math.max(1, Math.round(budgetMs - (performance.now() - queued)));
    const result = await slot.client.chat(request, { signal: options.signal, timeoutMs: remainingMs });
    end?.({ result: 'ok' });
    breaker.succeeded(ticket);
    if (slot.record) slot.record.lastSuccessAt = new Date();
    return result;
  } catch (caught) {
    end?.({ result: 'error' });
    const error = asLlmError(caught, provider.name);
    const at = new Date();
    if (options.signal?.aborted) breaker.abandoned(ticket);
    else if (error.retryAfterMs !== undefined) {
      breaker.holdFor(error.retryAfterMs, ticket);
      if (slot.record) slot.record.lastFailureAt = at;
    } else if (countsAgainstProvider(error)) {
      breaker.failed(ticket);
      if (slot.record) slot.record.lastFailureAt = at;
    } else {
      breaker.succeeded(ticket);
      if (slot.record) slot.record.lastSuccessAt = at;
    }
    throw error;
  } finally {
    release?.();
  }
}

/** Resolves when the first of these providers' probes has an outcome, or after `limitMs`. */
async function firstSettled(slots: ProviderSlot[], limitMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, limitMs);
  });
  try {
    await Promise.race([limit, ...slots.map((slot) => slot.breaker.probeSettled())]);
  } finally {
    clearTimeout(timer);
  }
}

function asLlmError(error: unknown, provider: string): LlmRequestError {
  if (error instanceof LlmRequestError) return error;
  const text = error instanceof Error ? error.message : String(error);
  return new LlmRequestError(`${provider}: ${text}`, undefined, undefined, { retryable: true, cause: error });
}

/**
 * The error once no provider answered. If any failure may pass, or a provider was held back by its breaker, it
 * is retryable and carries the largest wait among the role's providers that are held back now (an open breaker's
 * remaining cool-down, a Retry-After), so the next attempt comes no sooner than they may be called, even on
 * another worker. When every provider refused for good, the first refusal is thrown as it is.
 */
function exhausted(
  role: string,
  slots: ProviderSlot[],
  failures: Array<{ slot: ProviderSlot; error: LlmRequestError }>,
  heldBack: ProviderSlot[],
): LlmRequestError {
  const errors = failures.map((failure) => failure.error);
  const first = errors[0];
  if (first && heldBack.length === 0 && errors.every((error) => !error.retryable)) return first;
  const waits = slots.map((slot) => slot.breaker.waitMs()).filter((wait) => wait > 0);
  const retryAfterMs = waits.length > 0 ? Math.min(Math.max(...waits), MAX_RETRY_AFTER_MS) : undefined;
  const held = heldBack.map(
    (slot) => `${slot.provider.name}: held back for ${slot.breaker.waitMs()} ms (breaker open)`,
  );
  const detail = [...errors.map((error) => error.message), ...held].join('; ');
  return new LlmUnavailableError(`no provider for ${role} answered: ${detail}`, errors, retryAfterMs);
}
