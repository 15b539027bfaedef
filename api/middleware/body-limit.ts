// A ceiling on request bodies, checked before anything reads them: a declared Content-Length over the limit is
// refused at once, and a chunked body is cut off as soon as it passes the limit (Hono's bodyLimit), so a caller
// can make the API hold at most `maxBytes` per request. Refusals are 413 with the usual error body.
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { PayloadTooLargeError } from '../../core/errors.js';

/** Bodies of POST /v1/messages and every other /v1 route: a message holds at most 32,000 characters of text. */
export const MAX_API_BODY_BYTES = 1024 * 1024;

export function limitBody<E extends { Variables: object }>(maxBytes: number, what: string): MiddlewareHandler<E> {
  return bodyCeiling<E>(maxBytes, (c) => {
    // The rest of the body is never read, so the connection cannot carry another request: say so, or the
    // client's next request on it fails with a reset.
    c.header('Connection', 'close');
    throw new PayloadTooLargeError(`${what} are limited to ${maxBytes} bytes`);
  });
}

/**
 * Hono's bodyLimit, without its cost where it counts nothing. It asks for the request's body stream first, which
 * makes @hono/node-server build a web ReadableStream over the socket and read every body through it; in the API's
 * profile under scenario 1 that stream machinery cost more than the limit check. A body with a Content-Length and
 * no Transfer-Encoding needs no counting: Node's parser hands over exactly that many bytes and refuses a request
 * whose length header is malformed. So its header is compared and the body left to the server's direct read.
 * Chunked bodies (and requests without a length) are counted by Hono's bodyLimit, as before.
 */
export function bodyCeiling<E extends { Variables: object }>(
  maxBytes: number,
  onError: (c: Context<E>) => Response | Promise<Response>,
): MiddlewareHandler<E> {
  const counted = bodyLimit({ maxSize: maxBytes, onError: onError as (c: Context) => Response });
  return async (c, next) => {
    const declared = c.req.header('content-length');
    if (declared === undefined || c.req.header('transfer-encoding') !== undefined) return counted(c, next);
    if (Number(declared) > maxBytes) return onError(c);
    await next();
  };
}
