// The one credential-free way into /codec: the Temporal UI of the dev server that this very process started
// (npm start without TEMPORAL_ADDRESS) cannot send a credential, so a request that can only be that UI is
// let in as a decode-only principal. Every other request, and any request that does carry Authorization, goes
// through bearer authentication as usual. The rule and what it gives away: docs/security.md.
import type { Context, MiddlewareHandler } from 'hono';
import { normalizeAddress } from '../../security/client-ip.js';
import type { Principal } from '../admin-keys.js';
import type { ApiEnv } from '../deps.js';
import { peerAddress } from './connection.js';

/** Decoding is all the UI does with the codec; the viewer role grants payloads:decode and not encode. */
export const EMBEDDED_UI_PRINCIPAL: Principal = { keyId: 'embedded-temporal-ui', role: 'viewer', via: 'embedded-ui' };

/** Headers a proxy adds: a relayed request is not the browser on this host, whatever its peer address. */
const RELAY_HEADERS = ['forwarded', 'x-forwarded-for', 'x-real-ip', 'via'];

/**
 * The origins the embedded UI is served from: its URL as the dev server reports it and, for a UI bound to
 * 127.0.0.1, the same port spelled `localhost` (both name the one loopback listener).
 */
export function embeddedUiOrigins(uiUrl: string): string[] {
  const url = new URL(uiUrl);
  const origins = [url.origin];
  if (url.hostname === '127.0.0.1') origins.push(`${url.protocol}//localhost:${url.port}`);
  return origins;
}

const isLoopback = (address: string | undefined) => {
  if (!address) return false;
  const normalized = normalizeAddress(address);
  return normalized === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(normalized);
};

/** True when the request can only be the embedded UI in a browser on this host (see docs/security.md). */
export function isEmbeddedUiRequest(c: Context, origins: ReadonlySet<string>): boolean {
  if (c.req.header('authorization') !== undefined) return false;
  const origin = c.req.header('origin');
  if (!origin || !origins.has(origin)) return false;
  if (RELAY_HEADERS.some((header) => c.req.header(header) !== undefined)) return false;
  return isLoopback(peerAddress(c));
}

/**
 * Sets the decode-only principal for the embedded UI's requests and hands every other request to
 * `authenticate`. With no embedded UI (an external cluster), it is `authenticate` itself.
 */
export function embeddedUiOrAuthenticate(
  embeddedUiUrl: string | undefined,
  authenticate: MiddlewareHandler<ApiEnv>,
): MiddlewareHandler<ApiEnv> {
  if (!embeddedUiUrl) return authenticate;
  const origins = new Set(embeddedUiOrigins(embeddedUiUrl));
  return async (c, next) => {
    if (!isEmbeddedUiRequest(c, origins)) return authenticate(c, next);
    c.set('principal', EMBEDDED_UI_PRINCIPAL);
    await next();
  };
}
