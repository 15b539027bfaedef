import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/settings.js';
import { loadConfig } from '../platform/config.js';
import { type LlmEnv, loadLlmSettings } from './settings.js';

const base: LlmEnv = {
  LLM_TIMEOUT_MS: 60_000,
  LLM_MAX_CONCURRENCY: 16,
  LLM_CACHE_TTL_SECONDS: 300,
  LLM_CACHE_MAX_ENTRIES: 1000,
};

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

/** Loads settings from a config file held in memory. */
const fromFile = (file: unknown, variables: Record<string, string> = {}, env: Partial<LlmEnv> = {}) =>
  loadLlmSettings({ ...base, LLM_CONFIG_FILE: '/etc/conduit/llm.json', ...env }, variables, () =>
    typeof file === 'string' ? file : JSON.stringify(file),
  );

const twoVendors = {
  providers: {
    'qwen-turbo': { preset: 'qwen', apiKeyEnv: 'DASHSCOPE_API_KEY', model: 'qwen-turbo', timeoutMs: 10_000 },
    deepseek: { preset: 'deepseek', apiKeyEnv: 'DEEPSEEK_API_KEY', timeoutMs: 30_000, maxConcurrency: 4 },
    local: { baseUrl: 'http://127.0.0.1:8000/v1', model: 'Qwen/Qwen2.5-7B-Instruct' },
  },
  roles: { intent: ['qwen-turbo', 'local'], plan: ['deepseek', 'qwen-turbo', 'local'] },
};
const keys = { DASHSCOPE_API_KEY: 'sk-dashscope', DEEPSEEK_API_KEY: 'sk-deepseek' };

describe('loadLlmSettings from the environment', () => {
  it('is undefined when no model is configured', () => {
    expect(loadLlmSettings(base, {})).toBeUndefined();
  });

  it('makes LLM_* the one provider of both roles', () => {
    const settings = loadLlmSettings({ ...base, LLM_PROVIDER: 'deepseek', LLM_API_KEY: 'sk-1' }, {});
    expect(settings).toEqual({
      providers: [
        {
          name: 'deepseek',
          baseUrl: 'https://api.deepseek.com/v1',
          apiKey: 'sk-1',
          model: 'deepseek-chat',
          remote: true,
          timeoutMs: 60_000,
          maxConcurrency: 16,
        },
      ],
      roles: { intent: ['deepseek'], plan: ['deepseek'] },
      cache: { ttlSeconds: 300, maxEntries: 1000 },
      breaker: { failures: 5, cooldownMs: 30_000 },
      timeoutMs: 60_000,
    });
  });

  it('adds LLM_FALLBACK_* as the backup of both roles, and budgets both timeouts', () => {
    const settings = loadLlmSettings(
      {
        ...base,
        LLM_PROVIDER: 'deepseek',
        LLM_API_KEY: 'sk-1',
        LLM_FALLBACK_PROVIDER: 'qwen',
        LLM_FALLBACK_API_KEY: 'sk-2',
        LLM_FALLBACK_MODEL: 'qwen-max',
      },
      {},
    )!;
    expect(settings.providers.map((provider) => [provider.name, provider.model, provider.apiKey])).toEqual([
      ['deepseek', 'deepseek-chat', 'sk-1'],
      ['qwen', 'qwen-max', 'sk-2'],
    ]);
    expect(settings.roles).toEqual({ intent: ['deepseek', 'qwen'], plan: ['deepseek', 'qwen'] });
    expect(settings.timeoutMs).toBe(120_000);
  });

  it('names a backup at the same vendor apart from the primary', () => {
    const settings = loadLlmSettings(
      {
        ...base,
        LLM_PROVIDER: 'deepseek',
        LLM_API_KEY: 'sk-1',
        LLM_FALLBACK_PROVIDER: 'deepseek',
        LLM_FALLBACK_API_KEY: 'sk-2',
      },
      {},
    )!;
    expect(settings.providers.map((provider) => provider.name)).toEqual(['deepseek', 'deepseek-fallback']);
  });

  it('names the LLM_FALLBACK_ variable that is wrong', () => {
    expect(
      configError(() => loadLlmSettings({ ...base, LLM_FALLBACK_PROVIDER: 'qwen', LLM_FALLBACK_API_KEY: 'k' }, {}))
        .variable,
    ).toBe('LLM_FALLBACK_PROVIDER');
    const missingKey = configError(() =>
      loadLlmSettings({ ...base, LLM_PROVIDER: 'ollama', LLM_FALLBACK_PROVIDER: 'kimi' }, {}),
    );
    expect(missingKey.variable).toBe('LLM_FALLBACK_API_KEY');
  });
});

describe('loadLlmSettings from LLM_CONFIG_FILE', () => {
  it('resolves named providers, keys from apiKeyEnv, per-role failover lists and defaults', () => {
    const settings = fromFile(twoVendors, keys)!;
    expect(settings.providers).toEqual([
      {
        name: 'qwen-turbo',
        baseUrl: 'https://dashscope.aliyuncs.com/compatible-mode/v1',
        apiKey: 'sk-dashscope',
        model: 'qwen-turbo',
        remote: true,
        timeoutMs: 10_000,
        maxConcurrency: 16,
      },
      {
        name: 'deepseek',
        baseUrl: 'https://api.deepseek.com/v1',
        apiKey: 'sk-deepseek',
        model: 'deepseek-chat',
        remote: true,
        timeoutMs: 30_000,
        maxConcurrency: 4,
      },
      {
        name: 'local',
        baseUrl: 'http://127.0.0.1:8000/v1',
        apiKey: undefined,
        model: 'Qwen/Qwen2.5-7B-Instruct',
        remote: false,
        timeoutMs: 60_000,
        maxConcurrency: 16,
      },
    ]);
    expect(settings.roles).toEqual(twoVendors.roles);
    // The plan chain is the longest: 30 s + 10 s + 60 s.
    expect(settings.timeoutMs).toBe(100_000);
  });

  it('defaults plan to every provider in file order and intent to the plan list', () => {
    const settings = fromFile({ providers: twoVendors.providers }, keys)!;
    expect(settings.roles).toEqual({
      plan: ['qwen-turbo', 'deepseek', 'local'],
      intent: ['qwen-turbo', 'deepseek', 'local'],
    });
  });

  it.each([
    ['an apiKeyEnv that is not set', twoVendors, {}, 'providers.qwen-turbo.apiKeyEnv: DASHSCOPE_API_KEY is not set'],
    [
      'a role naming an unknown provider',
      { ...twoVendors, roles: { plan: ['deepseek', 'gpt'] } },
      keys,
      'roles.plan: unknown provider "gpt"',
    ],
    [
      'a provider listed twice',
      { ...twoVendors, roles: { plan: ['deepseek', 'deepseek'] } },
      keys,
      'roles.plan: lists a provider twice',
    ],
    [
      'both apiKey and apiKeyEnv',
      { providers: { a: { preset: 'kimi', apiKey: 'k', apiKeyEnv: 'K' } } },
      { K: 'k' },
      'providers.a.apiKeyEnv: set apiKey or apiKeyEnv, not both',
    ],
    ['neither preset nor baseUrl', { providers: { a: { model: 'm' } } }, {}, 'providers.a: set preset or baseUrl'],
    [
      'a misspelt field',
      { providers: { a: { preset: 'ollama', apikey: 'k' } } },
      {},
      'providers.a: Unrecognized key: "apikey"',
    ],
    ['no providers', { providers: {} }, {}, 'providers: define at least one provider'],
    ['a bad timeout', { providers: { a: { preset: 'ollama', timeoutMs: -1 } } }, {}, 'providers.a.timeoutMs'],
    ['a preset without its key', { providers: { a: { preset: 'kimi' } } }, {}, 'providers.a.apiKey: the kimi'],
    [
      'an unknown preset',
      { providers: { a: { preset: 'gemini', apiKey: 'k' } } },
      {},
      'providers.a.preset: unknown provider "gemini"',
    ],
    [
      'a base URL without a model',
      { providers: { a: { baseUrl: 'http://10.0.0.2:8000/v1' } } },
      {},
      'providers.a.model: required',
    ],
    ['text that is not JSON', '{ "providers": ', {}, 'not valid JSON'],
  ])('rejects %s, naming what to fix', (_case, file, variables, message) => {
    const error = configError(() => fromFile(file, variables));
    expect(error.variable).toBe('LLM_CONFIG_FILE');
    expect(error.message).toContain(message);
  });

  it('refuses LLM_PROVIDER or LLM_FALLBACK_* beside the file', () => {
    expect(configError(() => fromFile(twoVendors, keys, { LLM_PROVIDER: 'deepseek' })).message).toContain('not both');
    expect(configError(() => fromFile(twoVendors, keys, { LLM_FALLBACK_MODEL: 'x' })).message).toContain('not both');
  });

  it('names the file it cannot read', () => {
    const error = configError(() =>
      loadLlmSettings({ ...base, LLM_CONFIG_FILE: '/nonexistent/llm.json' }, {}, () => {
        throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      }),
    );
    expect(error.message).toBe('LLM_CONFIG_FILE: cannot read /nonexistent/llm.json (ENOENT)');
  });

  it('never puts a key in a config error', () => {
    const error = configError(() =>
      fromFile({ providers: { a: { preset: 'doubao', apiKey: 'sk-secret-abcdef' } } }, {}),
    );
    expect(error.message).not.toContain('sk-secret');
  });
});

describe('loadConfig with LLM settings', () => {
  it('reads LLM_CONFIG_FILE from disk and key variables from the same environment', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conduit-llm-'));
    try {
      const path = join(dir, 'llm.json');
      await writeFile(path, JSON.stringify(twoVendors));
      const config = loadConfig({ LLM_CONFIG_FILE: path, LLM_CACHE_TTL_SECONDS: '0', ...keys });
      expect(config.llm?.roles.plan).toEqual(['deepseek', 'qwen-turbo', 'local']);
      expect(config.llm?.providers.find((provider) => provider.name === 'deepseek')?.apiKey).toBe('sk-deepseek');
      expect(config.llm?.cache).toEqual({ ttlSeconds: 0, maxEntries: 1000 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps a single LLM_BASE_URL provider working as before', () => {
    const config = loadConfig({ LLM_BASE_URL: 'http://127.0.0.1:9/v1', LLM_MODEL: 'm', LLM_TIMEOUT_MS: '5000' });
    expect(config.llm?.providers).toMatchObject([{ name: 'openai-compatible', model: 'm', timeoutMs: 5000 }]);
    expect(config.llm?.timeoutMs).toBe(5000);
    expect(loadConfig({}).llm).toBeUndefined();
  });

  it('reads the breaker settings, 0 failures turning it off, and refuses a cool-down of 0', () => {
    const base = { LLM_BASE_URL: 'http://127.0.0.1:9/v1', LLM_MODEL: 'm' };
    expect(loadConfig({ ...base, LLM_BREAKER_FAILURES: '3', LLM_BREAKER_COOLDOWN_MS: '2500' }).llm?.breaker).toEqual({
      failures: 3,
      cooldownMs: 2500,
    });
    expect(loadConfig({ ...base, LLM_BREAKER_FAILURES: '0' }).llm?.breaker.failures).toBe(0);
    expect(configError(() => loadConfig({ ...base, LLM_BREAKER_COOLDOWN_MS: '0' })).variable).toBe(
      'LLM_BREAKER_COOLDOWN_MS',
    );
  });

  it('rejects a negative cache TTL', () => {
    expect(configError(() => loadConfig({ LLM_CACHE_TTL_SECONDS: '-1' })).variable).toBe('LLM_CACHE_TTL_SECONDS');
  });
});
