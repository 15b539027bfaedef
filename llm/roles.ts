// Builds the model the pipeline sees for each role from `config.llm`: one client, queue and circuit breaker per
// configured provider, one response cache per process, and a failover router per role over those providers.
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { BreakerState } from './breaker.js';
import { type CircuitBreaker, createCircuitBreaker } from './breaker.js';
import { createLlmClient, type LlmClientDeps } from './client.js';
import { LLM_ROLES, type LlmRole } from './config-file.js';
import type { ResolvedProvider } from './presets.js';
import { createResponseCache } from './response-cache.js';
import { createLlmRouter, type ProviderRecord, type ProviderSlot } from './router.js';
import { createSemaphore } from './semaphore.js';
import type { LlmSettings } from './settings.js';
import type { LlmClient } from './types.js';

/** The intent step's model (a light one is enough) and the planning step's (the strong one). */
export type LlmRoles = Record<LlmRole, LlmClient>;

export interface LlmRolesDeps extends LlmClientDeps {
  metrics?: Pick<Metrics, 'llmCalls' | 'llmCacheHits' | 'llmBreakerOpen'>;
  logger?: Logger;
  /** Wraps each provider's client, e.g. in PII masking for remote providers. */
  wrapClient?: (provider: ResolvedProvider, client: LlmClient) => LlmClient;
}

/** One configured provider as this process's router sees it now: a read-only copy. */
export interface ProviderStatus extends ProviderRecord {
  name: string;
  model: string;
  /** The roles that list it, in failover order or not. */
  roles: LlmRole[];
  breaker: BreakerState;
  /** While the breaker is open: when the next call may go out as its probe. */
  openUntil?: Date;
}

export function createLlmRoles(settings: LlmSettings, deps: LlmRolesDeps = {}): LlmRoles {
  return createLlmProviders(settings, deps).roles;
}

/** The roles' models and a snapshot of their providers (breaker state, last answer and failure). */
export function createLlmProviders(
  settings: LlmSettings,
  deps: LlmRolesDeps = {},
): { roles: LlmRoles; status(): ProviderStatus[] } {
  const cache =
    settings.cache.ttlSeconds > 0
      ? createResponseCache({ ttlMs: settings.cache.ttlSeconds * 1000, maxEntries: settings.cache.maxEntries })
      : undefined;
  const slots = new Map<string, ProviderSlot>();
  for (const provider of settings.providers) {
    const client = createLlmClient(provider, { fetch: deps.fetch });
    slots.set(provider.name, {
      provider,
      client: deps.wrapClient ? deps.wrapClient(provider, client) : client,
      limiter: provider.maxConcurrency ? createSemaphore(provider.maxConcurrency) : undefined,
      breaker: providerBreaker(settings, provider, deps),
      record: {},
    });
  }
  const route = (role: LlmRole) => {
    const chain = settings.roles[role].map((name) => {
      const slot = slots.get(name);
      if (!slot) throw new Error(`the ${role} role names an unknown provider ${name}`);
      return slot;
    });
    return createLlmRouter(role, chain, { cache, metrics: deps.metrics, logger: deps.logger });
  };
  const roles = Object.fromEntries(LLM_ROLES.map((role) => [role, route(role)])) as LlmRoles;
  const status = (): ProviderStatus[] =>
    [...slots.values()].map(({ provider, breaker, record }) => {
      const waitMs = breaker.state === 'open' ? breaker.waitMs() : 0;
      return {
        name: provider.name,
        model: provider.model,
        roles: LLM_ROLES.filter((role) => settings.roles[role].includes(provider.name)),
        breaker: breaker.state,
        openUntil: waitMs > 0 ? new Date(Date.now() + waitMs) : undefined,
        ...record,
      };
    });
  return { roles, status };
}

/** A provider's breaker, its state shown in conduit_llm_breaker_open and every change logged. */
function providerBreaker(settings: LlmSettings, provider: ResolvedProvider, deps: LlmRolesDeps): CircuitBreaker {
  const labels = { provider: provider.name };
  deps.metrics?.llmBreakerOpen.set(labels, 0);
  return createCircuitBreaker({
    ...settings.breaker,
    onChange: (state, { consecutiveFailures, openForMs }) => {
      deps.metrics?.llmBreakerOpen.set(labels, state === 'closed' ? 0 : 1);
      const fields = { provider: provider.name, model: provider.model, state, consecutiveFailures, openForMs };
      if (state === 'open') deps.logger?.warn(fields, 'model provider held back: breaker open');
      else deps.logger?.info(fields, state === 'closed' ? 'model provider breaker closed' : 'model provider probed');
    },
  });
}
