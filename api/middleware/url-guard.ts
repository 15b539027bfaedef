// Refuses a URL whose path or query does not decode to storable text (malformed percent-encoding, `%00` and
// other control characters, unpaired surrogates) with a 400, before any route reads it: such values would
// otherwise reach PostgreSQL or Temporal and come back as a 500.
import type { MiddlewareHandler } from 'hono';
import { BadRequestError } from '../../core/errors.js';

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f]|[\uD800-\uDFFF]/u;

export function urlGuard(): MiddlewareHandler {
  return async (c, next) => {
    const url = new URL(c.req.url);
    let decoded: string;
    try {
      decoded = decodeURIComponent(url.pathname + url.search.replace(/\+/g, ' '));
    } catch {
      throw new BadRequestError('the URL is not valid percent-encoded UTF-8');
    }
    if (UNSAFE.test(decoded)) throw new BadRequestError('the URL holds a control character');
    await next();
  };
}
