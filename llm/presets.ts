// Named OpenAI-compatible endpoints and the one function that turns `config.llm` into a concrete provider.
// A remote provider sees user text leave the machine, so PII masking defaults on for it.
import { type Config, ConfigError } from '../core/config.js';

export interface ProviderPreset {
  baseUrl: string;
  /** Absent when the vendor has no sensible default (Doubao models are per-account endpoint ids). */
  defaultModel?: string;
  remote: boolean;
  needsKey: boolean;
}

export const PROVIDER_PRESETS = {
  deepseek: { baseUrl: 'https://api.deepseek.com/v1', defaultModel: 'deepseek-chat', remote: true, needsKey: true },
  qwen: {
    baseUrl: 'https://dashscope.aliyuncs.com/compatible-mode/v1',
    defaultModel: 'qwen-plus',
    remote: true,
    needsKey: true,
  },
  glm: { baseUrl: 'https://open.bigmodel.cn/api/paas/v4', defaultModel: 'glm-4-plus', remote: true, needsKey: true },
  kimi: { baseUrl: 'https://api.moonshot.cn/v1', defaultModel: 'moonshot-v1-8k', remote: true, needsKey: true },
  doubao: { baseUrl: 'https://ark.cn-beijing.volces.com/api/v3', remote: true, needsKey: true },
  vllm: { baseUrl: 'http://127.0.0.1:8000/v1', remote: false, needsKey: false },
  ollama: { baseUrl: 'http://127.0.0.1:11434/v1', defaultModel: 'qwen2.5', remote: false, needsKey: false },
} as const satisfies Record<string, ProviderPreset>;

export type PresetName = keyof typeof PROVIDER_PRESETS;

/** Any endpoint speaking the protocol, configured by LLM_BASE_URL alone. */
export const GENERIC_PROVIDER = 'openai-compatible';

export interface ResolvedProvider {
  name: string;
  baseUrl: string;
  apiKey?: string;
  model: string;
  /** True when requests leave this machine or its private network: PII masking is on by default. */
  remote: boolean;
  timeoutMs: number;
}

type LlmConfig = NonNullable<Config['llm']>;

export function resolveProvider(llm: LlmConfig): ResolvedProvider {
  const name = llm.provider?.toLowerCase() ?? (llm.baseUrl ? GENERIC_PROVIDER : undefined);
  if (name === undefined) {
    throw new ConfigError(
      'LLM_PROVIDER',
      `set a provider (${presetNames()}) or LLM_BASE_URL of an OpenAI-compatible API`,
    );
  }
  if (name === GENERIC_PROVIDER) return resolveGeneric(llm);
  if (!isPresetName(name)) {
    throw new ConfigError(
      'LLM_PROVIDER',
      `unknown provider "${name}"; expected one of ${presetNames()}, ${GENERIC_PROVIDER}`,
    );
  }
  const preset: ProviderPreset = PROVIDER_PRESETS[name];
  const model = llm.model ?? preset.defaultModel;
  if (model === undefined) {
    throw new ConfigError(
      'LLM_MODEL',
      `the ${name} provider has no default model; set LLM_MODEL (for doubao, an endpoint id such as ep-...)`,
    );
  }
  if (preset.needsKey && llm.apiKey === undefined) {
    throw new ConfigError('LLM_API_KEY', `the ${name} provider needs an API key`);
  }
  // An overridden URL on the public internet is remote even for a self-hosted preset such as vllm.
  const remote = preset.remote || (llm.baseUrl !== undefined && !isPrivateUrl(llm.baseUrl));
  return { name, baseUrl: llm.baseUrl ?? preset.baseUrl, apiKey: llm.apiKey, model, remote, timeoutMs: llm.timeoutMs };
}

function resolveGeneric(llm: LlmConfig): ResolvedProvider {
  if (llm.baseUrl === undefined) {
    throw new ConfigError('LLM_BASE_URL', `required when LLM_PROVIDER is ${GENERIC_PROVIDER}`);
  }
  if (llm.model === undefined) {
    throw new ConfigError('LLM_MODEL', `required for an ${GENERIC_PROVIDER} endpoint (LLM_BASE_URL)`);
  }
  return {
    name: GENERIC_PROVIDER,
    baseUrl: llm.baseUrl,
    apiKey: llm.apiKey,
    model: llm.model,
    remote: !isPrivateUrl(llm.baseUrl),
    timeoutMs: llm.timeoutMs,
  };
}

function isPresetName(name: string): name is PresetName {
  return Object.hasOwn(PROVIDER_PRESETS, name);
}

function presetNames(): string {
  return Object.keys(PROVIDER_PRESETS).join(', ');
}

/** Loopback, RFC 1918, link-local and `.local`/`localhost` names: traffic that stays on the operator's network. */
export function isPrivateUrl(url: string): boolean {
  const host = new URL(url).hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local')) return true;
  if (host.includes(':')) return host === '::1' || /^f[cd]/.test(host) || host.startsWith('fe80:');
  const octets = host.split('.').map(Number);
  if (octets.length !== 4 || octets.some((octet) => !Number.isInteger(octet))) return false;
  const [a = -1, b = -1] = octets;
  return (
    a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254)
  );
}
