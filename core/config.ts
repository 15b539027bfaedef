// The one place that reads process.env: every setting is parsed and validated here once, and the typed
// config is passed down. A bad value becomes one ConfigError line naming the variable.
import { isIP } from 'node:net';
import { z } from 'zod';
import { type LlmSettings, loadLlmSettings } from '../llm/settings.js';
import { parseKeyList } from '../security/key-list.js';
import type { EncryptionKey } from '../security/payload-codec.js';
import { PROTECTED_HEADERS } from '../tools/builtin/http/headers.js';
import { type McpServerConfig, parseMcpServers } from '../tools/mcp/server-config.js';

const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const port = (fallback: number) =>
  z.coerce
    .number({ error: 'expected a TCP port number (1-65535)' })
    .int('expected a TCP port number (1-65535)')
    .min(1, 'expected a TCP port number (1-65535)')
    .max(65535, 'expected a TCP port number (1-65535)')
    .default(fallback);

const positiveInt = (fallback: number, what: string) =>
  z.coerce
    .number({ error: `expected ${what}` })
    .int(`expected ${what}`)
    .positive(`expected ${what}`)
    .default(fallback);

const optionalPort = optionalString
  .refine(
    (value) => value === undefined || (/^\d{1,5}$/.test(value) && Number(value) >= 1 && Number(value) <= 65535),
    'expected a TCP port number (1-65535)',
  )
  .transform((value) => (value === undefined ? undefined : Number(value)));

const optionalUrl = (what: string) =>
  optionalString.refine((value) => value === undefined || URL.canParse(value), `expected ${what}`);

const csv = optionalString.transform((value) =>
  value === undefined
    ? []
    : value
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean),
);

const booleanFlag = (fallback: boolean) =>
  optionalString
    .refine(
      (value) =>
        value === undefined || ['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'].includes(value.toLowerCase()),
      'expected true or false',
    )
    .transform((value) => (value === undefined ? fallback : ['1', 'true', 'yes', 'on'].includes(value.toLowerCase())));

// Security settings (see docs/security.md). Keys are `id:base64` lists; addresses are IPs or CIDR ranges.
const keyList = optionalString
  .superRefine((value, ctx) => {
    if (value === undefined) return;
    try {
      parseKeyList(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  })
  .transform((value) => (value === undefined ? undefined : parseKeyList(value)));

const isIpOrCidr = (entry: string) => {
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
};

const addressList = csv.superRefine((entries, ctx) => {
  const bad = entries.find((entry) => !isIpOrCidr(entry));
  if (bad !== undefined) {
    ctx.addIssue({ code: 'custom', message: `${bad} is not an IP address or CIDR range (10.0.0.0/8, fd00::/8)` });
  }
});

const originList = csv.superRefine((entries, ctx) => {
  const bad = entries.find((entry) => !URL.canParse(entry) || new URL(entry).origin !== entry.replace(/\/$/, ''));
  if (bad !== undefined)
    ctx.addIssue({ code: 'custom', message: `${bad} is not an origin like https://ui.example.com` });
});

const JWT_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'] as const;
const algorithmList = csv.superRefine((entries, ctx) => {
  const bad = entries.find((entry) => !(JWT_ALGORITHMS as readonly string[]).includes(entry));
  if (bad !== undefined) ctx.addIssue({ code: 'custom', message: `${bad} is not one of ${JWT_ALGORITHMS.join(', ')}` });
});

const nonNegativeInt = (fallback: number, what: string) =>
  z.coerce
    .number({ error: `expected ${what}` })
    .int(`expected ${what}`)
    .min(0, `expected ${what}`)
    .default(fallback);

/** Days to keep a data class (privacy/retention.ts); 0 keeps it forever, as unset does where there is no default. */
const retentionDays = (fallback?: number) =>
  optionalString
    .refine(
      (value) => value === undefined || /^\d{1,6}$/.test(value),
      'expected a whole number of days (0 keeps forever)',
    )
    .transform((value) => (value === undefined ? fallback : Number(value) === 0 ? undefined : Number(value)));

const envSchema = z
  .object({
    PORT: port(8080),
    GRPC_PORT: optionalPort,
    HOST: z.string().default('127.0.0.1'),
    CONDUIT_DATA_DIR: z.string().min(1, 'expected a directory path').default('./data'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

    TEMPORAL_ADDRESS: optionalString.refine(
      (value) => value === undefined || /^[^\s:/]+:\d{1,5}$/.test(value),
      'expected host:port',
    ),
    TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
    TEMPORAL_TASK_QUEUE: z.string().min(1).default('conduit'),
    TEMPORAL_DEV_PORT: port(7233),
    TEMPORAL_UI_PORT: port(8233),
    TEMPORAL_CLI_VERSION: z.string().default('v1.5.1'),

    DATABASE_URL: optionalString.refine(
      (value) => value === undefined || /^postgres(ql)?:\/\//.test(value),
      'expected a postgres:// or postgresql:// URL',
    ),

    S3_ENDPOINT: optionalUrl('an http(s):// URL such as http://127.0.0.1:9000'),
    S3_ACCESS_KEY: optionalString,
    S3_SECRET_KEY: optionalString,
    S3_BUCKET: z
      .string()
      .regex(
        /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
        'expected an S3 bucket name (3-63 lowercase letters, digits, dots, dashes)',
      )
      .default('conduit'),
    S3_REGION: z.string().default('us-east-1'),

    PIPELINE_MAX_TOOL_STEPS: positiveInt(8, 'a positive whole number of steps'),
    PIPELINE_PROGRESS_DELAY_MS: positiveInt(5000, 'a delay in milliseconds'),
    APPROVAL_TIMEOUT_MS: positiveInt(24 * 3_600_000, 'a timeout in milliseconds'),
    HISTORY_TOKEN_BUDGET: positiveInt(2000, 'a positive number of tokens'),
    RATE_LIMIT_PER_USER_PER_MINUTE: positiveInt(30, 'a positive whole number of messages'),
    RATE_LIMIT_PER_CONVERSATION_PER_MINUTE: positiveInt(120, 'a positive whole number of messages'),
    CHANNEL_ALLOW_USERS: csv,
    CHANNEL_DENY_USERS: csv,
    CHAT_APPROVERS: csv,
    SCHEDULE_TIMEZONE: z
      .string()
      .refine((zone) => {
        try {
          new Intl.DateTimeFormat('en', { timeZone: zone });
          return true;
        } catch {
          return false;
        }
      }, 'expected an IANA time zone such as Asia/Shanghai')
      .default('Asia/Shanghai'),

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
    LLM_PII_MASKING: z.enum(['auto', 'on', 'off'], { error: 'expected auto, on or off' }).default('auto'),
    PII_MASKING_REVERSIBLE: booleanFlag(false),
    TRANSCRIPT_ANONYMISE: booleanFlag(false),
    RETENTION_MESSAGES_DAYS: retentionDays(365),
    RETENTION_RUN_EVENTS_DAYS: retentionDays(30),
    RETENTION_AUDIT_DAYS: retentionDays(),
    RETENTION_BLOBS_DAYS: retentionDays(365),
    PRIVACY_ERASURE_TWO_PERSON: booleanFlag(false),

    TOOLS_HTTP_ALLOWED_HOSTS: csv,
    TOOLS_HTTP_MAX_RESPONSE_BYTES: positiveInt(64 * 1024, 'a positive number of bytes'),
    TOOLS_HTTP_TIMEOUT_MS: positiveInt(10_000, 'a timeout in milliseconds'),
    TOOLS_HTTP_HEADER_OVERRIDES: csv.superRefine((names, ctx) => {
      const bad = names.find((name) => !PROTECTED_HEADERS.includes(name.toLowerCase()));
      if (bad !== undefined) {
        ctx.addIssue({ code: 'custom', message: `${bad} is not one of ${PROTECTED_HEADERS.join(', ')}` });
      }
    }),
    MCP_SERVERS: optionalString
      .superRefine((value, ctx) => {
        if (value === undefined) return;
        try {
          parseMcpServers(value);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
        }
      })
      .transform((value) => (value === undefined ? [] : parseMcpServers(value))),
    MCP_CONFIG_FILE: optionalString,

    CUSTOM_WEBHOOK_SECRET: csv,
    CUSTOM_CALLBACK_ALLOWED_HOSTS: csv,
    WEBHOOK_REFUSAL_LOG_PER_INTERVAL: positiveInt(10, 'a whole number of log lines'),
    WEBHOOK_REFUSAL_LOG_INTERVAL_SECONDS: positiveInt(60, 'a whole number of seconds'),
    DINGTALK_APP_KEY: optionalString,
    DINGTALK_APP_SECRET: optionalString,
    DINGTALK_CORP_ID: optionalString,
    // DingTalk allows an hour; a captured sign is good for as long as this window (see docs/security.md).
    DINGTALK_SIGNATURE_MAX_AGE_SECONDS: positiveInt(300, 'a whole number of seconds').refine(
      (seconds) => seconds <= 3600,
      'expected at most 3600 seconds (DingTalk refuses older timestamps itself)',
    ),
    DINGTALK_API_BASE_URL: optionalUrl('an http(s):// URL').default('https://api.dingtalk.com'),
    DINGTALK_STREAM: booleanFlag(false),
    DINGTALK_STREAM_GATEWAY_URL: optionalUrl('an http(s):// URL of the connections/open endpoint'),
    FEISHU_APP_ID: optionalString,
    FEISHU_APP_SECRET: optionalString,
    FEISHU_ENCRYPT_KEY: optionalString,
    FEISHU_VERIFICATION_TOKEN: optionalString,
    FEISHU_BASE_URL: optionalUrl('an http(s):// URL').default('https://open.feishu.cn'),
    FEISHU_LONG_CONNECTION: booleanFlag(false),

    CONDUIT_PAYLOAD_KEYS: keyList,
    CONDUIT_MASTER_KEY: keyList,
    TEMPORAL_UI_ORIGIN: originList,
    OIDC_ISSUER: optionalUrl('an https:// issuer URL'),
    OIDC_AUDIENCE: csv,
    OIDC_JWKS_URL: optionalUrl('an https:// URL of a JSON Web Key Set'),
    OIDC_ALGORITHMS: algorithmList,
    OIDC_CLOCK_TOLERANCE_SECONDS: nonNegativeInt(30, 'a whole number of seconds'),
    OIDC_ROLE_CLAIM: z.string().min(1).default('roles'),
    IP_ALLOWLIST_API: addressList,
    IP_ALLOWLIST_WEBHOOKS: addressList,
    TRUSTED_PROXIES: addressList,
    API_RATE_LIMIT_PER_KEY_PER_MINUTE: nonNegativeInt(600, 'a whole number of requests (0 disables)'),
    API_RATE_LIMIT_PER_IP_PER_MINUTE: nonNegativeInt(1200, 'a whole number of requests (0 disables)'),
    TLS_CERT_FILE: optionalString,
    TLS_KEY_FILE: optionalString,
    TLS_CLIENT_CA_FILE: optionalString,
    TEMPORAL_TLS: booleanFlag(false),
    TEMPORAL_TLS_CA_FILE: optionalString,
    TEMPORAL_TLS_CERT_FILE: optionalString,
    TEMPORAL_TLS_KEY_FILE: optionalString,
    TEMPORAL_TLS_SERVER_NAME: optionalString,

    CONDUIT_ADMIN_API_KEY: optionalString,
    METRICS_ENABLED: booleanFlag(true),
    METRICS_PORT: port(9464),
    TEMPORAL_SDK_METRICS_PORT: optionalPort,
  })
  .superRefine((env, ctx) => {
    const s3 = ['S3_ENDPOINT', 'S3_ACCESS_KEY', 'S3_SECRET_KEY'] as const;
    const set = s3.filter((key) => env[key] !== undefined);
    if (set.length > 0 && set.length < s3.length) {
      for (const key of s3.filter((k) => env[k] === undefined)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `required when ${set.join(', ')} is set` });
      }
    }
    if (env.TEMPORAL_SDK_METRICS_PORT !== undefined && env.TEMPORAL_SDK_METRICS_PORT === env.METRICS_PORT) {
      ctx.addIssue({ code: 'custom', path: ['TEMPORAL_SDK_METRICS_PORT'], message: 'must differ from METRICS_PORT' });
    }
    for (const [variable, needs] of [
      ['TLS_KEY_FILE', 'TLS_CERT_FILE'],
      ['TLS_CERT_FILE', 'TLS_KEY_FILE'],
      ['TLS_CLIENT_CA_FILE', 'TLS_CERT_FILE'],
      ['TEMPORAL_TLS_KEY_FILE', 'TEMPORAL_TLS_CERT_FILE'],
      ['TEMPORAL_TLS_CERT_FILE', 'TEMPORAL_TLS_KEY_FILE'],
      ['OIDC_ISSUER', 'OIDC_AUDIENCE'],
      ['OIDC_JWKS_URL', 'OIDC_ISSUER'],
    ] as const) {
      const value = env[variable];
      const set = Array.isArray(value) ? value.length > 0 : value !== undefined;
      const needed = env[needs];
      if (set && (Array.isArray(needed) ? needed.length === 0 : needed === undefined)) {
        ctx.addIssue({ code: 'custom', path: [needs], message: `required when ${variable} is set` });
      }
    }
    // Stream ingress (docs/channels.md) connects with the app credentials; the Feishu SDK only takes real app ids.
    for (const [flag, needs] of [
      ['DINGTALK_STREAM', ['DINGTALK_APP_KEY', 'DINGTALK_APP_SECRET']],
      ['FEISHU_LONG_CONNECTION', ['FEISHU_APP_ID', 'FEISHU_APP_SECRET']],
    ] as const) {
      for (const key of needs.filter((k) => env[flag] && env[k] === undefined)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `required when ${flag} is on` });
      }
    }
    if (env.FEISHU_LONG_CONNECTION && env.FEISHU_APP_ID && !/^cli_[0-9a-fA-F]{16}$/.test(env.FEISHU_APP_ID)) {
      ctx.addIssue({
        code: 'custom',
        path: ['FEISHU_APP_ID'],
        message: 'expected an app id like cli_a1b2c3d4e5f6a7b8',
      });
    }
    if (env.GRPC_PORT !== undefined && env.GRPC_PORT === env.PORT) {
      ctx.addIssue({ code: 'custom', path: ['GRPC_PORT'], message: 'must differ from PORT' });
    }
    if (env.TEMPORAL_DEV_PORT === env.TEMPORAL_UI_PORT) {
      ctx.addIssue({ code: 'custom', path: ['TEMPORAL_UI_PORT'], message: 'must differ from TEMPORAL_DEV_PORT' });
    }
  });

export type Env = z.infer<typeof envSchema>;

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly expectation: string,
  ) {
    super(`${variable}: ${expectation}`);
    this.name = 'ConfigError';
  }
}

export interface Config {
  env: Env;
  dataDir: string;
  api: { host: string; port: number };
  /** The gRPC hub (SendMessage, WatchRun); unset when GRPC_PORT is not set. Binds to HOST. */
  grpc?: { host: string; port: number };
  temporal: {
    /** Set when an external cluster is used; otherwise an embedded dev server is started. */
    externalAddress?: string;
    namespace: string;
    taskQueue: string;
    devPort: number;
    uiPort: number;
    cliVersion: string;
    /** Set when TLS to the Temporal frontend is configured (TEMPORAL_TLS*). */
    tls?: TemporalTls;
  };
  database: { kind: 'postgres'; url: string } | { kind: 'pglite'; dir: string };
  blobs:
    | { kind: 's3'; endpoint: string; accessKey: string; secretKey: string; bucket: string; region: string }
    | { kind: 'filesystem'; dir: string };
  pipeline: {
    maxToolSteps: number;
    progressDelayMs: number;
    approvalTimeoutMs: number;
    historyTokenBudget: number;
    rateLimitPerUserPerMinute: number;
    rateLimitPerConversationPerMinute: number;
    allowUsers: string[];
    denyUsers: string[];
    /** Chat users (`channel:userId`, `*:userId`) who may approve sensitive requests; empty: anyone but the requester. */
    chatApprovers: string[];
    /** Time zone of cron schedules created from chat. */
    scheduleTimezone: string;
  };
  tools: {
    httpAllowedHosts: string[];
    httpMaxResponseBytes: number;
    httpTimeoutMs: number;
    /** Protected headers (authorization, host, …) the model may set in HTTP tool calls. */
    httpHeaderOverrides: string[];
    /** MCP servers from MCP_SERVERS; MCP_CONFIG_FILE is read (and its servers added) when the worker starts. */
    mcpServers: McpServerConfig[];
    mcpConfigFile?: string;
  };
  /** Providers, per-role failover lists and the response cache (llm/settings.ts); unset: no model. */
  llm?: LlmSettings;
  /** auto masks personal data only for providers outside this machine's private network. */
  piiMasking: { llm: 'auto' | 'on' | 'off'; reversible: boolean };
  privacy: PrivacySettings;
  /** port: the worker-only process's metrics server; temporalSdkPort: the SDK's own exporter (unset = off). */
  metrics: { enabled: boolean; port: number; temporalSdkPort?: number };
  security: SecuritySettings;
  logLevel: Env['LOG_LEVEL'];
}

export interface PrivacySettings {
  /** Store message text with personal data replaced by placeholders, irreversibly (TRANSCRIPT_ANONYMISE). */
  anonymiseTranscripts: boolean;
  /** Days each data class is kept; unset: forever. */
  retentionDays: { messages?: number; runEvents?: number; audit?: number; blobs?: number };
  /** Erasing a user's data needs two different admins within a day (PRIVACY_ERASURE_TWO_PERSON). */
  erasureTwoPerson: boolean;
}

export interface TemporalTls {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  serverName?: string;
}

export interface OidcSettings {
  issuer: string;
  audience: string[];
  jwksUrl: string;
  algorithms: Array<(typeof JWT_ALGORITHMS)[number]>;
  clockToleranceSeconds: number;
  /** Claim holding role names; a dotted path reaches into objects (`realm_access.roles`). */
  roleClaim: string;
}

export interface SecuritySettings {
  /** From CONDUIT_PAYLOAD_KEYS; unset: generated once into `keyDir/payload-keys`. */
  payloadKeys?: EncryptionKey[];
  /** From CONDUIT_MASTER_KEY; unset: generated once into `keyDir/master-key`. */
  masterKeys?: EncryptionKey[];
  keyDir: string;
  /** Origins allowed to call the codec endpoints (the Temporal UI). */
  temporalUiOrigins: string[];
  oidc?: OidcSettings;
  ipAllowlist: { api: string[]; webhooks: string[] };
  trustedProxies: string[];
  /** Token buckets per process; 0 disables a limit. */
  rateLimit: { perKeyPerMinute: number; perIpPerMinute: number };
  tls?: { certFile: string; keyFile: string; clientCaFile?: string };
}

/** Parses an environment (process.env by default) into Config; throws ConfigError on the first bad variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    throw new ConfigError(variable, issue?.message ?? 'invalid value');
  }
  const env = parsed.data;
  const dataDir = env.CONDUIT_DATA_DIR;
  return {
    env,
    dataDir,
    api: { host: env.HOST, port: env.PORT },
    grpc: env.GRPC_PORT === undefined ? undefined : { host: env.HOST, port: env.GRPC_PORT },
    temporal: {
      externalAddress: env.TEMPORAL_ADDRESS,
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue: env.TEMPORAL_TASK_QUEUE,
      devPort: env.TEMPORAL_DEV_PORT,
      uiPort: env.TEMPORAL_UI_PORT,
      cliVersion: env.TEMPORAL_CLI_VERSION,
      tls:
        env.TEMPORAL_TLS || env.TEMPORAL_TLS_CA_FILE || env.TEMPORAL_TLS_CERT_FILE || env.TEMPORAL_TLS_SERVER_NAME
          ? {
              caFile: env.TEMPORAL_TLS_CA_FILE,
              certFile: env.TEMPORAL_TLS_CERT_FILE,
              keyFile: env.TEMPORAL_TLS_KEY_FILE,
              serverName: env.TEMPORAL_TLS_SERVER_NAME,
            }
          : undefined,
    },
    database: env.DATABASE_URL
      ? { kind: 'postgres', url: env.DATABASE_URL }
      : { kind: 'pglite', dir: `${dataDir}/pglite` },
    blobs:
      env.S3_ENDPOINT && env.S3_ACCESS_KEY && env.S3_SECRET_KEY
        ? {
            kind: 's3',
            endpoint: env.S3_ENDPOINT,
            accessKey: env.S3_ACCESS_KEY,
            secretKey: env.S3_SECRET_KEY,
            bucket: env.S3_BUCKET,
            region: env.S3_REGION,
          }
        : { kind: 'filesystem', dir: `${dataDir}/blobs` },
    pipeline: {
      maxToolSteps: env.PIPELINE_MAX_TOOL_STEPS,
      progressDelayMs: env.PIPELINE_PROGRESS_DELAY_MS,
      approvalTimeoutMs: env.APPROVAL_TIMEOUT_MS,
      historyTokenBudget: env.HISTORY_TOKEN_BUDGET,
      rateLimitPerUserPerMinute: env.RATE_LIMIT_PER_USER_PER_MINUTE,
      rateLimitPerConversationPerMinute: env.RATE_LIMIT_PER_CONVERSATION_PER_MINUTE,
      allowUsers: env.CHANNEL_ALLOW_USERS,
      denyUsers: env.CHANNEL_DENY_USERS,
      chatApprovers: env.CHAT_APPROVERS,
      scheduleTimezone: env.SCHEDULE_TIMEZONE,
    },
    tools: {
      httpAllowedHosts: env.TOOLS_HTTP_ALLOWED_HOSTS,
      httpMaxResponseBytes: env.TOOLS_HTTP_MAX_RESPONSE_BYTES,
      httpTimeoutMs: env.TOOLS_HTTP_TIMEOUT_MS,
      httpHeaderOverrides: env.TOOLS_HTTP_HEADER_OVERRIDES.map((name) => name.toLowerCase()),
      mcpServers: env.MCP_SERVERS,
      mcpConfigFile: env.MCP_CONFIG_FILE,
    },
    llm: loadLlmSettings(env, source),
    metrics: {
      enabled: env.METRICS_ENABLED,
      port: env.METRICS_PORT,
      temporalSdkPort: env.TEMPORAL_SDK_METRICS_PORT,
    },
    security: securitySettings(env, dataDir),
    piiMasking: { llm: env.LLM_PII_MASKING, reversible: env.PII_MASKING_REVERSIBLE },
    privacy: {
      anonymiseTranscripts: env.TRANSCRIPT_ANONYMISE,
      retentionDays: {
        messages: env.RETENTION_MESSAGES_DAYS,
        runEvents: env.RETENTION_RUN_EVENTS_DAYS,
        audit: env.RETENTION_AUDIT_DAYS,
        blobs: env.RETENTION_BLOBS_DAYS,
      },
      erasureTwoPerson: env.PRIVACY_ERASURE_TWO_PERSON,
    },
    logLevel: env.LOG_LEVEL,
  };
}

function securitySettings(env: Env, dataDir: string): SecuritySettings {
  const uiPort = env.TEMPORAL_UI_PORT;
  return {
    payloadKeys: env.CONDUIT_PAYLOAD_KEYS,
    masterKeys: env.CONDUIT_MASTER_KEY,
    keyDir: `${dataDir}/keys`,
    temporalUiOrigins:
      env.TEMPORAL_UI_ORIGIN.length > 0
        ? env.TEMPORAL_UI_ORIGIN.map((origin) => origin.replace(/\/$/, ''))
        : [`http://127.0.0.1:${uiPort}`, `http://localhost:${uiPort}`],
    oidc: env.OIDC_ISSUER
      ? {
          issuer: env.OIDC_ISSUER,
          audience: env.OIDC_AUDIENCE,
          jwksUrl: env.OIDC_JWKS_URL ?? `${env.OIDC_ISSUER.replace(/\/+$/, '')}/.well-known/jwks.json`,
          algorithms:
            env.OIDC_ALGORITHMS.length > 0 ? (env.OIDC_ALGORITHMS as OidcSettings['algorithms']) : [...JWT_ALGORITHMS],
          clockToleranceSeconds: env.OIDC_CLOCK_TOLERANCE_SECONDS,
          roleClaim: env.OIDC_ROLE_CLAIM,
        }
      : undefined,
    ipAllowlist: { api: env.IP_ALLOWLIST_API, webhooks: env.IP_ALLOWLIST_WEBHOOKS },
    trustedProxies: env.TRUSTED_PROXIES,
    rateLimit: {
      perKeyPerMinute: env.API_RATE_LIMIT_PER_KEY_PER_MINUTE,
      perIpPerMinute: env.API_RATE_LIMIT_PER_IP_PER_MINUTE,
    },
    tls:
      env.TLS_CERT_FILE && env.TLS_KEY_FILE
        ? { certFile: env.TLS_CERT_FILE, keyFile: env.TLS_KEY_FILE, clientCaFile: env.TLS_CLIENT_CA_FILE }
        : undefined,
  };
}
