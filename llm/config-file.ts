// The LLM_CONFIG_FILE format (JSON, see docs/llm.md): named providers and, per role, an ordered failover
// list of their names. Parsing only: the file's text comes in, ProviderSettings by name and role lists go out.
// Keys never need to be in the file: `apiKeyEnv` names the variable that holds one.
import { z } from 'zod';
import { ConfigError } from '../core/settings.js';
import type { ProviderSettings } from './presets.js';

export const LLM_ROLES = ['intent', 'plan'] as const;
export type LlmRole = (typeof LLM_ROLES)[number];

const providerName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'expected a name of letters, digits, ".", "_" or "-"');

const providerSchema = z
  .strictObject({
    preset: z.string().min(1).optional(),
    baseUrl: z
      .string()
      .refine((value) => /^https?:\/\//.test(value) && URL.canParse(value), 'expected an http(s):// URL')
      .optional(),
    apiKey: z.string().min(1).optional(),
    apiKeyEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected the name of an environment variable')
      .optional(),
    model: z.string().min(1).optional(),
    timeoutMs: z.number().int().positive('expected a timeout in milliseconds').optional(),
    maxConcurrency: z.number().int().positive('expected a positive whole number of requests').optional(),
  })
  .refine((provider) => provider.preset !== undefined || provider.baseUrl !== undefined, 'set preset or baseUrl')
  .refine((provider) => provider.apiKey === undefined || provider.apiKeyEnv === undefined, {
    message: 'set apiKey or apiKeyEnv, not both',
    path: ['apiKeyEnv'],
  });

const roleList = z
  .array(providerName)
  .min(1, 'list at least one provider')
  .refine((names) => new Set(names).size === names.length, 'lists a provider twice');

const fileSchema = z.strictObject({
  providers: z
    .record(providerName, providerSchema)
    .refine((providers) => Object.keys(providers).length > 0, 'define at least one provider'),
  roles: z.strictObject({ intent: roleList.optional(), plan: roleList.optional() }).optional(),
});

export interface LlmConfigFile {
  /** In file order. */
  providers: Array<{ name: string; settings: ProviderSettings }>;
  roles: Record<LlmRole, string[]>;
}

export interface FileDefaults {
  timeoutMs: number;
  maxConcurrency: number;
}

/**
 * Parses the file's text. `variables` resolves `apiKeyEnv`; `defaults` fills what a provider leaves out.
 * Roles default to every provider in file order for `plan`, and to the `plan` list for `intent`.
 */
export function parseLlmConfigFile(
  text: string,
  variables: Record<string, string | undefined>,
  defaults: FileDefaults,
): LlmConfigFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw fileError(`not valid JSON (${(error as Error).message})`);
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.map(String).join('.') ?? '';
    throw fileError(`${path ? `${path}: ` : ''}${issue?.message ?? 'invalid'}`);
  }
  const providers = Object.entries(parsed.data.providers).map(([name, entry]) => {
    let apiKey = entry.apiKey;
    if (entry.apiKeyEnv !== undefined) {
      apiKey = variables[entry.apiKeyEnv]?.trim() || undefined;
      if (apiKey === undefined) throw fileError(`providers.${name}.apiKeyEnv: ${entry.apiKeyEnv} is not set`);
    }
    const settings: ProviderSettings = {
      provider: entry.preset,
      baseUrl: entry.baseUrl,
      apiKey,
      model: entry.model,
      timeoutMs: entry.timeoutMs ?? defaults.timeoutMs,
      maxConcurrency: entry.maxConcurrency ?? defaults.maxConcurrency,
    };
    return { name, settings };
  });

  const known = providers.map((provider) => provider.name);
  const plan = parsed.data.roles?.plan ?? known;
  const roles: Record<LlmRole, string[]> = { plan, intent: parsed.data.roles?.intent ?? plan };
  // plan first: an intent list left out is the plan list, and the error should name where the name was written.
  for (const role of ['plan', 'intent'] as const) {
    const unknown = roles[role].find((name) => !known.includes(name));
    if (unknown !== undefined) {
      throw fileError(`roles.${role}: unknown provider "${unknown}"; defined: ${known.join(', ')}`);
    }
  }
  return { providers, roles };
}

function fileError(expectation: string): ConfigError {
  return new ConfigError('LLM_CONFIG_FILE', expectation);
}
