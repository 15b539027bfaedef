// The API's one error handler: typed errors become `{ "error": { "code", "message" } }` with their status;
// anything else is a 500 whose details go to the log, never to the caller.
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ConduitError, RateLimitedError, UnavailableError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

export const errorBody = (code: string, message: string) => ({ error: { code, message } });

export function createErrorHandler(logger: Logger) {
  return (error: Error, c: Context) => {
    if (error instanceof ConduitError) {
      if (error instanceof RateLimitedError) c.header('Retry-After', String(error.retryAfterSeconds));
      if (error instanceof UnavailableError && error.retryAfterSeconds !== undefined) {
        c.header('Retry-After', String(error.retryAfterSeconds));
      }
      return c.json(errorBody(error.code, error.message), error.httpStatus as ContentfulStatusCode);
    }
    if (error instanceof HTTPException) {
      const status = error.status;
      const code = status === 413 ? 'payload_too_large' : status === 401 ? 'unauthorized' : 'http_error';
      return c.json(errorBody(code, error.message || 'request refused'), status);
    }
    logger.error({ err: error, path: c.req.path }, 'unhandled API error');
    return c.json(errorBody('internal', 'internal error'), 500);
  };
}
