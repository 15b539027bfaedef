// Turns the LLM_* variables (and LLM_CONFIG_FILE, when set) into `config.llm`: resolved providers, each role's
// failover list, cache settings and the time budget of one model activity. platform/config.ts hands in the
// environment; nothing here reads process.env.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import {
  ConfigError,
  nonNegativeInt,
  optionalString,
  optionalUrl,
  parseVariables,
  positiveInt,
  type Variables,
} from '../core/settings.js';
import type { BreakerSettings } from './breaker.js';
import { type LlmRole, parseLlmConfigFile } from './config-file.js';
import { type ProviderOrigin, type ProviderSettings, type ResolvedProvider, resolveProvider } from './presets.js';

export interface LlmSettings {
  /** Every configured provider, by its unique name. */
  providers: ResolvedProvider[];
  /** Per role, provider names in failover order. */
  roles: Record<LlmRole, string[]>;
  cache: { ttlSeconds: number; maxEntries: number };
  /** Each provider's circuit breaker (llm/breaker.ts): failures in a row that open it, and its cool-down. */
  breaker: BreakerSettings;
  /**
   * The longest one model activity may take: every provider of the longest failover list using its whole
   * timeout. With one provider this is LLM_TIMEOUT_MS.
   */
  timeoutMs: number;
}

const llmVariables = z.object({
  LLM_PROVIDER: optionalString,
  LLM_BASE_URL: optionalUrl('an http(s):// URL of an OpenAI-compatible API'),
  LLM_API_KEY: optionalString,
  LLM_MODEL: optionalString,
  LLM_TIMEOUT_MS: positiveInt(60000, 'a timeout in milliseconds'),
  LLM_FALLBACK_PROVIDER: optionalString,
  LLM_FALLBACK_BASE_URL: optionalUrl('an http(s):// URL of an OpenAI-compatible API'),
  LLM_FALLBACK_API_KEY: optionalString,
  LLM_FALLBACK_MODEL: optionalString,
  LLM_CONFIG_FILE: optionalString,
  LLM_MAX_CONCURRENCY: positiveInt(16, 'a positive whole number of requests'),
  LLM_CACHE_TTL_SECONDS: nonNegativeInt(300, 'a whole number of seconds (0 disables)'),
  LLM_CACHE_MAX_ENTRIES: positiveInt(1000, 'a positive whole number of entries'),
  LLM_BREAKER_FAILURES: nonNegativeInt(5, 'a whole number of failures in a row (0 disables the breaker)'),
  LLM_BREAKER_COOLDOWN_MS: positiveInt(30000, 'a cool-down in milliseconds'),
});

const DEFAULT_BREAKER: BreakerSettings = { failures: 5, cooldownMs: 30_000 };

/** The LLM variables once parsed (what llmVariables yields; tests build it by hand). */
export interface LlmEnv {
  LLM_CONFIG_FILE?: string;
  LLM_PROVIDER?: string;
  LLM_BASE_URL?: string;
  LLM_API_KEY?: string;
  LLM_MODEL?: string;
  LLM_FALLBACK_PROVIDER?: string;
  LLM_FALLBACK_BASE_URL?: string;
  LLM_FALLBACK_API_KEY?: string;
  LLM_FALLBACK_MODEL?: string;
  LLM_TIMEOUT_MS: number;
  LLM_MAX_CONCURRENCY: number;
  LLM_CACHE_TTL_SECONDS: number;
  LLM_CACHE_MAX_ENTRIES: number;
  /** Defaults as in llmVariables when absent (tests build this by hand). */
  LLM_BREAKER_FAILURES?: number;
  LLM_BREAKER_COOLDOWN_MS?: number;
}

/**
 * Parses the LLM variables of `source` and resolves the providers; undefined when no model is configured.
 * `source` is the whole environment, since a config file may name any variable in `apiKeyEnv`.
 */
export function parseLlmSettings(source: Variables): LlmSettings | undefined {
  return loadLlmSettings(parseVariables(llmVariables, source), source);
}

/**
 * Undefined when no model is configured. `variables` is the raw environment, for `apiKeyEnv` in the file;
 * `readFile` is replaceable for tests.
 */
export function loadLlmSettings(
  env: LlmEnv,
  variables: Record<string, string | undefined>,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): LlmSettings | undefined {
  const primary = env.LLM_PROVIDER || env.LLM_BASE_URL || env.LLM_MODEL;
  const fallback = env.LLM_FALLBACK_PROVIDER || env.LLM_FALLBACK_BASE_URL || env.LLM_FALLBACK_MODEL;
  const cache = { ttlSeconds: env.LLM_CACHE_TTL_SECONDS, maxEntries: env.LLM_CACHE_MAX_ENTRIES };
  const breaker: BreakerSettings = {
    failures: env.LLM_BREAKER_FAILURES ?? DEFAULT_BREAKER.failures,
    cooldownMs: env.LLM_BREAKER_COOLDOWN_MS ?? DEFAULT_BREAKER.cooldownMs,
  };
  const defaults = { timeoutMs: env.LLM_TIMEOUT_MS, maxConcurrency: env.LLM_MAX_CONCURRENCY };

  if (env.LLM_CONFIG_FILE !== undefined) {
    if (primary || fallback) {
      throw new ConfigError(
        'LLM_CONFIG_FILE',
        'set either LLM_CONFIG_FILE or LLM_PROVIDER/LLM_BASE_URL/LLM_MODEL (and LLM_FALLBACK_*), not both',
      );
    }
    const file = parseLlmConfigFile(read(env.LLM_CONFIG_FILE, readFile), variables, defaults);
    const providers = file.providers.map(({ name, settings }) => resolveProvider(settings, { file: name }));
    return settle(providers, file.roles, cache, breaker);
  }

  if (!primary) {
    if (fallback) {
      throw new ConfigError('LLM_FALLBACK_PROVIDER', 'needs a primary provider: set LLM_PROVIDER or LLM_BASE_URL too');
    }
    return undefined;
  }
  const fromEnv = (prefix: 'LLM_' | 'LLM_FALLBACK_', settings: Omit<ProviderSettings, keyof typeof defaults>) => {
    const origin: ProviderOrigin = { env: prefix };
    return resolveProvider({ ...settings, ...defaults }, origin);
  };
  const providers = [
    fromEnv('LLM_', {
      provider: env.LLM_PROVIDER,
      baseUrl: env.LLM_BASE_URL,
      apiKey: env.LLM_API_KEY,
      model: env.LLM_MODEL,
    }),
  ];
  if (fallback) {
    const backup = fromEnv('LLM_FALLBACK_', {
      provider: env.LLM_FALLBACK_PROVIDER,
      baseUrl: env.LLM_FALLBACK_BASE_URL,
      apiKey: env.LLM_FALLBACK_API_KEY,
      model: env.LLM_FALLBACK_MODEL,
    });
    // Two accounts at one vendor would share a name, and names key metrics, the cache and usage rows.
    providers.push(backup.name === providers[0]!.name ? { ...backup, name: `${backup.name}-fallback` } : backup);
  }
  const names = providers.map((provider) => provider.name);
  return settle(providers, { intent: names, plan: names }, cache, breaker);
}

function settle(
  providers: ResolvedProvider[],
  roles: Record<LlmRole, string[]>,
  cache: LlmSettings['cache'],
  breaker: BreakerSettings,
): LlmSettings {
  const timeoutOf = (name: string) => providers.find((provider) => provider.name === name)?.timeoutMs ?? 0;
  const timeoutMs = Math.max(
    ...Object.values(roles).map((names) => names.reduce((sum, name) => sum + timeoutOf(name), 0)),
  );
  return { providers, roles, cache, breaker, timeoutMs };
}

function read(path: string, readFile: (path: string) => string): string {
  try {
    return readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError('LLM_CONFIG_FILE', `cannot read ${path}${code ? ` (${code})` : ''}`);
  }
}
