import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/settings.js';
import { isPrivateUrl, resolveProvider } from './presets.js';

const timeoutMs = 60_000;

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('resolveProvider', () => {
  it('fills a remote preset from its defaults', () => {
    expect(resolveProvider({ provider: 'deepseek', apiKey: 'sk-1', timeoutMs })).toEqual({
      name: 'deepseek',
      baseUrl: 'https://api.deepseek.com/v1',
      apiKey: 'sk-1',
      model: 'deepseek-chat',
      remote: true,
      timeoutMs,
    });
  });

  it.each([
    ['qwen', 'https://dashscope.aliyuncs.com/compatible-mode/v1', 'qwen-plus'],
    ['glm', 'https://open.bigmodel.cn/api/paas/v4', 'glm-4-plus'],
    ['kimi', 'https://api.moonshot.cn/v1', 'moonshot-v1-8k'],
  ])('knows the %s endpoint and default model', (provider, baseUrl, model) => {
    expect(resolveProvider({ provider, apiKey: 'k', timeoutMs })).toMatchObject({ baseUrl, model, remote: true });
  });

  it('accepts a provider name in any case', () => {
    expect(resolveProvider({ provider: 'DeepSeek', apiKey: 'k', timeoutMs }).name).toBe('deepseek');
  });

  it('lets LLM_MODEL and LLM_BASE_URL override a preset', () => {
    const resolved = resolveProvider({
      provider: 'qwen',
      apiKey: 'k',
      model: 'qwen-max',
      baseUrl: 'https://dashscope-intl.aliyuncs.com/compatible-mode/v1',
      timeoutMs,
    });
    expect(resolved).toMatchObject({
      model: 'qwen-max',
      baseUrl: 'https://dashscope-intl.aliyuncs.com/compatible-mode/v1',
    });
  });

  it('names LLM_API_KEY when a remote preset has no key', () => {
    const error = configError(() => resolveProvider({ provider: 'kimi', timeoutMs }));
    expect(error.variable).toBe('LLM_API_KEY');
    expect(error.message).toContain('kimi');
  });

  it('names LLM_MODEL when doubao has no endpoint id', () => {
    const error = configError(() => resolveProvider({ provider: 'doubao', apiKey: 'k', timeoutMs }));
    expect(error.variable).toBe('LLM_MODEL');
    expect(resolveProvider({ provider: 'doubao', apiKey: 'k', model: 'ep-2024', timeoutMs })).toMatchObject({
      baseUrl: 'https://ark.cn-beijing.volces.com/api/v3',
      model: 'ep-2024',
      remote: true,
    });
  });

  it('runs local presets without a key and without masking by default', () => {
    expect(resolveProvider({ provider: 'ollama', timeoutMs })).toEqual({
      name: 'ollama',
      baseUrl: 'http://127.0.0.1:11434/v1',
      apiKey: undefined,
      model: 'qwen2.5',
      remote: false,
      timeoutMs,
    });
    expect(resolveProvider({ provider: 'vllm', model: 'Qwen/Qwen2.5-7B-Instruct', timeoutMs })).toMatchObject({
      baseUrl: 'http://127.0.0.1:8000/v1',
      remote: false,
    });
  });

  it('names LLM_MODEL for vllm, which serves whatever model it was started with', () => {
    expect(configError(() => resolveProvider({ provider: 'vllm', timeoutMs })).variable).toBe('LLM_MODEL');
  });

  it('treats a local preset moved to a public host as remote', () => {
    const resolved = resolveProvider({
      provider: 'vllm',
      model: 'm',
      baseUrl: 'https://llm.example.com/v1',
      timeoutMs,
    });
    expect(resolved.remote).toBe(true);
    const lan = resolveProvider({ provider: 'vllm', model: 'm', baseUrl: 'http://192.168.1.20:8000/v1', timeoutMs });
    expect(lan.remote).toBe(false);
  });

  it('uses a generic openai-compatible provider when only LLM_BASE_URL is set', () => {
    expect(resolveProvider({ baseUrl: 'http://localhost:1234/v1', model: 'local-model', timeoutMs })).toEqual({
      name: 'openai-compatible',
      baseUrl: 'http://localhost:1234/v1',
      apiKey: undefined,
      model: 'local-model',
      remote: false,
      timeoutMs,
    });
    expect(resolveProvider({ baseUrl: 'https://api.example.com/v1', model: 'm', timeoutMs }).remote).toBe(true);
    expect(configError(() => resolveProvider({ baseUrl: 'https://api.example.com/v1', timeoutMs })).variable).toBe(
      'LLM_MODEL',
    );
  });

  it('names LLM_PROVIDER for an unknown provider or a model without any endpoint', () => {
    const unknown = configError(() => resolveProvider({ provider: 'gemini', apiKey: 'k', timeoutMs }));
    expect(unknown.variable).toBe('LLM_PROVIDER');
    expect(unknown.message).toContain('deepseek');
    expect(configError(() => resolveProvider({ model: 'x', timeoutMs })).variable).toBe('LLM_PROVIDER');
  });

  it('never puts the key in a config error', () => {
    const error = configError(() => resolveProvider({ provider: 'doubao', apiKey: 'sk-secret-abcdef', timeoutMs }));
    expect(error.message).not.toContain('sk-secret');
  });
});

describe('isPrivateUrl', () => {
  it.each([
    ['http://127.0.0.1:8000/v1', true],
    ['http://localhost:11434', true],
    ['http://10.1.2.3', true],
    ['http://172.20.0.5', true],
    ['http://172.32.0.5', false],
    ['http://[::1]:8000', true],
    ['http://[fd12::1]', true],
    ['http://gpu.local:8000', true],
    ['https://api.deepseek.com/v1', false],
    ['https://fcbarcelona.example', false],
    ['http://8.8.8.8', false],
  ])('%s → %s', (url, expected) => {
    expect(isPrivateUrl(url)).toBe(expected);
  });
});
