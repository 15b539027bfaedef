// Structured JSON logs (pino). Secrets are redacted by key wherever they appear in logged objects; callers
// add context (runId, workflowId, channel) with child loggers.
import { type Logger, pino } from 'pino';
import { maskPii } from '../pii/masking.js';

export type { Logger };

const SECRET_KEYS = [
  'secret',
  'password',
  'apiKey',
  'api_key',
  'accessKey',
  'secretKey',
  'token',
  'accessToken',
  'access_token',
  'tenant_access_token',
  'app_secret',
  'appSecret',
  'authorization',
  'Authorization',
  'sign',
  'encryptKey',
];

export const redactPaths = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((key) => `*.${key}`),
  ...SECRET_KEYS.map((key) => `*.*.${key}`),
  'req.headers.authorization',
  'req.headers["x-conduit-signature"]',
  'req.headers.cookie',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'conduit' },
      redact: { paths: redactPaths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Personal data in log lines is masked irreversibly: logs leave the data's owner more often than data does.
      formatters: { log: maskStringFields },
      hooks: {
        logMethod(args, method) {
          method.apply(
            this,
            args.map((arg) =>
              typeof arg === 'string' ? maskPii(arg, { reversible: false }).text : arg,
            ) as typeof args,
          );
        },
      },
    },
    destination,
  );
}

function maskStringFields(object: Record<string, unknown>): Record<string, unknown> {
  const masked: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    masked[key] = typeof value === 'string' ? maskPii(value, { reversible: false }).text : value;
  }
  return masked;
}
