// Structured JSON logs (pino). Secrets are redacted by key wherever they appear in logged objects; callers
// add context (runId, workflowId, channel) with child loggers.
import { type Logger, pino } from 'pino';

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
    },
    destination,
  );
}
