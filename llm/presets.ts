// Named OpenAI-compatible endpoints and the one function that turns `config.llm` into a concrete provider.
// A remote provider sees user text leave the machine, so PII masking defaults on for it.
import { ConfigError } from '../core/settings.js';

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
  /** The configured name: the preset's (or `openai-compatible`) for LLM_*, the key in LLM_CONFIG_FILE. */
  name: string;
  baseUrl: string;
  apiKey?: string;
  model: string;
  /** True when requests leave this machine or its private network: PII masking is on by default. */
  remote: boolean;
  timeoutMs: number;
  /** Requests in flight at once; more wait in a queue (see llm/semaphore.ts). Unset: no limit. */
  maxConcurrency?: number;
}

/** One provider's raw settings, from LLM_* / LLM_FALLBACK_* variables or from one entry of LLM_CONFIG_FILE. */
export interface ProviderSettings {
  provider?: string;
  baseUrl?: string;
  apiKey?: string;
  model?: string;
  timeoutMs: number;
  maxConcurrency?: number;
}

/** Where settings came from, so an error names what to fix: a variable prefix, or a provider in the file. */
export type ProviderOrigin = { env: 'LLM_' | 'LLM_FALLBACK_' } | { file: string };

type Field = 'provider' | 'baseUrl' | 'apiKey' | 'model';
const ENV_SUFFIX: Record<Field, string> = {
  provider: 'PROVIDER',
  baseUrl: 'BASE_URL',
  apiKey: 'API_KEY',
  model: 'MODEL',
};
const FILE_FIELD: Record<Field, string> = { provider: 'preset', baseUrl: 'baseUrl', apiKey: 'apiKey', model: 'model' };

export function resolveProvider(
  settings: ProviderSettings,
  origin: ProviderOrigin = { env: 'LLM_' },
): ResolvedProvider {
  const label = (field: Field) => ('env' in origin ? `${origin.env}${ENV_SUFFIX[field]}` : FILE_FIELD[field]);
  const fail = (field: Field, expectation: string) =>
    'env' in origin
      ? new ConfigError(label(field), expectation)
      : new ConfigError('LLM_CONFIG_FILE', `providers.${origin.file}.${FILE_FIELD[field]}: ${expectation}`);

  const vendor = settings.provider?.toLowerCase() ?? (settings.baseUrl ? GENERIC_PROVIDER : undefined);
  if (vendor === undefined) {
    throw fail('provider', `set a provider (${presetNames()}) or ${label('baseUrl')} of an OpenAI-compatible API`);
  }
  const name = 'file' in origin ? origin.file : vendor;
  const common = {
    name,
    apiKey: settings.apiKey,
    timeoutMs: settings.timeoutMs,
    maxConcurrency: settings.maxConcurrency,
  };
  if (vendor === GENERIC_PROVIDER) {
    if (settings.baseUrl === undefined) throw fail('baseUrl', `required for an ${GENERIC_PROVIDER} provider`);
    if (settings.model === undefined) {
      throw fail('model', `required for an ${GENERIC_PROVIDER} endpoint (${label('baseUrl')})`);
    }
    return { ...common, baseUrl: settings.baseUrl, model: settings.model, remote: !isPrivateUrl(settings.baseUrl) };
  }
  if (!isPresetName(vendor)) {
    throw fail('provider', `unknown provider "${vendor}"; expected one of ${presetNames()}, ${GENERIC_PROVIDER}`);
  }
  const preset: ProviderPreset = PROVIDER_PRESETS[vendor];
  const model = settings.model ?? preset.defaultModel;
  if (model === undefined) {
    throw fail(
      'model',
      `the ${vendor} provider has no default model; set ${label('model')} (for doubao, an endpoint id such as ep-...)`,
    );
  }
  if (preset.needsKey && settings.apiKey === undefined) {
    throw fail('apiKey', `the ${vendor} provider needs an API key${'file' in origin ? ' (apiKey or apiKeyEnv)' : ''}`);
  }
  // An overridden URL on the public internet is remote even for a self-hosted preset such as vllm.
  const remote = preset.remote || (settings.baseUrl !== undefined && !isPrivateUrl(settings.baseUrl));
  return { ...common, baseUrl: settings.baseUrl ?? preset.baseUrl, model, remote };
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
