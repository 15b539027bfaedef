// A ceiling on request bodies, checked before anything reads them: a declared Content-Length over the limit is
// refused at once, and a chunked body is cut off as soon as it passes the limit (Hono's bodyLimit), so a caller
// can make the API hold at most `maxBytes` per request. Refusals are 413 with the usual error body.
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { PayloadTooLargeError } from '../../core/errors.js';

/** Bodies of POST /v1/messages and every other /v1 route: a message holds at most 32,000 characters of text. */
export const MAX_API_BODY_BYTES = 1024 * 1024;

export function limitBody<E extends { Variables: object }>(maxBytes: number, what: string): MiddlewareHandler<E> {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) => {
      // The rest of the body is never read, so the connection cannot carry another request: say so, or the
      // client's next request on it fails with a reset.
      c.header('Connection', 'close');
      throw new PayloadTooLargeError(`${what} are limited to ${maxBytes} bytes`);
    },
  });
}
