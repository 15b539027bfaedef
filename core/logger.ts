// Structured JSON logs (pino). Secrets are redacted by key wherever they appear in logged objects; callers
// add context (runId, workflowId, channel) with child loggers. Personal data is masked by a function handed in:
// pii/logger.ts builds the process logger with pii's masking (core knows nothing of what personal data is).
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

/** Replaces what must not reach a log line in one string (every message, string field and error text). */
export type TextMask = (text: string) => string;

/** A JSON logger; `maskText` is applied to every string it writes (none by default: use pii/logger.ts). */
export function createJsonLogger(
  level: string,
  destination?: pino.DestinationStream,
  maskText: TextMask = (text) => text,
): Logger {
  const { maskObject, maskValue } = maskingWalk(maskText);
  return pino(
    {
      level,
      base: { service: 'conduit' },
      redact: { paths: redactPaths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Every string is masked (pii/logger.ts: personal data, irreversibly), errors too (message, stack, cause,
      // at any depth): a failed step's error can quote the user.
      formatters: { log: (object) => maskObject(object, 0) },
      serializers: { err: (value: unknown) => maskValue(value, 0) },
      hooks: {
        logMethod(args, method) {
          // `logger.warn(error)` and `logger.warn({ err })` take the error's message as the line's message.
          const [first] = args;
          const error = first instanceof Error ? first : (first as { err?: unknown } | undefined)?.err;
          const withMessage = args.length === 1 && error instanceof Error ? [first, error.message] : args;
          method.apply(this, withMessage.map((arg) => (typeof arg === 'string' ? maskText(arg) : arg)) as typeof args);
        },
      },
    },
    destination,
  );
}

/** Deep enough for an SDK log entry's meta and an error's cause chain; deeper values are left out. */
const MAX_DEPTH = 6;

/** Masks every string of a logged object; errors become plain `{ type, message, stack, … }`, masked too. */
function maskingWalk(mask: TextMask) {
  function maskObject(object: Record<string, unknown>, depth: number): Record<string, unknown> {
    const masked: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(object)) masked[key] = maskValue(value, depth + 1);
    return masked;
  }

  function maskValue(value: unknown, depth: number): unknown {
    if (typeof value === 'string') return mask(value);
    if (value === null || typeof value !== 'object') return value;
    if (depth >= MAX_DEPTH) return '[depth]';
    if (value instanceof Error) {
      const serialized = pino.stdSerializers.err(value) as unknown as Record<string, unknown>;
      return maskObject({ ...serialized }, depth);
    }
    if (Array.isArray(value)) return value.map((item) => maskValue(item, depth + 1));
    const prototype = Object.getPrototypeOf(value);
    // Class instances (dates, buffers, URLs) keep pino's own rendering; plain data is walked.
    if (prototype !== Object.prototype && prototype !== null) return value;
    return maskObject(value as Record<string, unknown>, depth);
  }
  return { maskObject, maskValue };
}
