// The one place that reads process.env: every setting is parsed and validated here once, and the typed
// config is passed down. A bad value becomes one ConfigError line naming the variable.
import { z } from 'zod';

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

const envSchema = z
  .object({
    PORT: port(8080),
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
    RATE_LIMIT_PER_USER_PER_MINUTE: positiveInt(30, 'a positive whole number of messages'),
    RATE_LIMIT_PER_CONVERSATION_PER_MINUTE: positiveInt(120, 'a positive whole number of messages'),
    CHANNEL_ALLOW_USERS: csv,
    CHANNEL_DENY_USERS: csv,

    LLM_PROVIDER: optionalString,
    LLM_BASE_URL: optionalUrl('an http(s):// URL of an OpenAI-compatible API'),
    LLM_API_KEY: optionalString,
    LLM_MODEL: optionalString,
    LLM_TIMEOUT_MS: positiveInt(60000, 'a timeout in milliseconds'),

    TOOLS_HTTP_ALLOWED_HOSTS: csv,

    CUSTOM_WEBHOOK_SECRET: csv,
    DINGTALK_APP_KEY: optionalString,
    DINGTALK_APP_SECRET: optionalString,
    DINGTALK_API_BASE_URL: optionalUrl('an http(s):// URL').default('https://api.dingtalk.com'),
    FEISHU_APP_ID: optionalString,
    FEISHU_APP_SECRET: optionalString,
    FEISHU_ENCRYPT_KEY: optionalString,
    FEISHU_VERIFICATION_TOKEN: optionalString,
    FEISHU_BASE_URL: optionalUrl('an http(s):// URL').default('https://open.feishu.cn'),

    CONDUIT_ADMIN_API_KEY: optionalString,
    METRICS_ENABLED: booleanFlag(true),
  })
  .superRefine((env, ctx) => {
    const s3 = ['S3_ENDPOINT', 'S3_ACCESS_KEY', 'S3_SECRET_KEY'] as const;
    const set = s3.filter((key) => env[key] !== undefined);
    if (set.length > 0 && set.length < s3.length) {
      for (const key of s3.filter((k) => env[k] === undefined)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `required when ${set.join(', ')} is set` });
      }
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
  temporal: {
    /** Set when an external cluster is used; otherwise an embedded dev server is started. */
    externalAddress?: string;
    namespace: string;
    taskQueue: string;
    devPort: number;
    uiPort: number;
    cliVersion: string;
  };
  database: { kind: 'postgres'; url: string } | { kind: 'pglite'; dir: string };
  blobs:
    | { kind: 's3'; endpoint: string; accessKey: string; secretKey: string; bucket: string; region: string }
    | { kind: 'filesystem'; dir: string };
  pipeline: {
    maxToolSteps: number;
    progressDelayMs: number;
    approvalTimeoutMs: number;
    rateLimitPerUserPerMinute: number;
    rateLimitPerConversationPerMinute: number;
    allowUsers: string[];
    denyUsers: string[];
  };
  tools: { httpAllowedHosts: string[] };
  llm?: { provider?: string; baseUrl?: string; apiKey?: string; model?: string; timeoutMs: number };
  logLevel: Env['LOG_LEVEL'];
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
  const llmConfigured = env.LLM_PROVIDER || env.LLM_BASE_URL || env.LLM_MODEL;
  return {
    env,
    dataDir,
    api: { host: env.HOST, port: env.PORT },
    temporal: {
      externalAddress: env.TEMPORAL_ADDRESS,
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue: env.TEMPORAL_TASK_QUEUE,
      devPort: env.TEMPORAL_DEV_PORT,
      uiPort: env.TEMPORAL_UI_PORT,
      cliVersion: env.TEMPORAL_CLI_VERSION,
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
      rateLimitPerUserPerMinute: env.RATE_LIMIT_PER_USER_PER_MINUTE,
      rateLimitPerConversationPerMinute: env.RATE_LIMIT_PER_CONVERSATION_PER_MINUTE,
      allowUsers: env.CHANNEL_ALLOW_USERS,
      denyUsers: env.CHANNEL_DENY_USERS,
    },
    tools: { httpAllowedHosts: env.TOOLS_HTTP_ALLOWED_HOSTS },
    llm: llmConfigured
      ? {
          provider: env.LLM_PROVIDER,
          baseUrl: env.LLM_BASE_URL,
          apiKey: env.LLM_API_KEY,
          model: env.LLM_MODEL,
          timeoutMs: env.LLM_TIMEOUT_MS,
        }
      : undefined,
    logLevel: env.LOG_LEVEL,
  };
}
