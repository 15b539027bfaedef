// The security middleware in front of each route group, composed once from the config:
//   /webhooks  IP allowlist (each platform's signature is checked by its adapter)
//   /codec     IP allowlist, CORS for the Temporal UI, per-address rate limit, bearer authentication (or the
//              embedded UI's loopback trust), per-credential rate limit, role check
//   /v1        IP allowlist, per-address rate limit, bearer authentication, per-credential rate limit, role check
//   /console   IP allowlist, per-address rate limit (the console checks its session cookie and roles itself)
// /codec, /v1 and /console share their buckets: an address or a credential has one budget for all, and a request
// with a wrong key spends its address's budget before it is refused, so guessing keys on any of them (the
// console's sign-in form takes an API key) ends in 429s.
import type { MiddlewareHandler } from 'hono';
import { every } from 'hono/combine';
import { cors } from 'hono/cors';
import type { ApiDeps, ApiEnv } from './deps.js';
import { authenticate } from './middleware/authenticate.js';
import { authorize } from './middleware/authorize.js';
import { createClientAddress } from './middleware/connection.js';
import { embeddedUiOrAuthenticate, embeddedUiOrigins } from './middleware/embedded-ui-trust.js';
import { ipAllowlist } from './middleware/ip-allowlist.js';
import { rateLimit } from './middleware/rate-limit.js';

export interface Guards {
  webhooks: MiddlewareHandler;
  codec: MiddlewareHandler<ApiEnv>;
  v1: MiddlewareHandler<ApiEnv>;
  console: MiddlewareHandler<ApiEnv>;
}

export function createGuards({
  config,
  verifyApiKey,
  embeddedTemporalUiUrl,
}: Pick<ApiDeps, 'config' | 'verifyApiKey' | 'embeddedTemporalUiUrl'>): Guards {
  const { security } = config;
  const clientAddress = createClientAddress(security.trustedProxies);
  const apiAllowlist = ipAllowlist(security.ipAllowlist.api, clientAddress);
  const authn = authenticate(verifyApiKey);
  const authz = authorize();
  // Before authentication, so guessing keys costs the guesser's address its budget too.
  const perAddress = rateLimit<ApiEnv>({
    perMinute: security.rateLimit.perIpPerMinute,
    key: (c) => clientAddress(c) || undefined,
    what: 'from this address',
  });
  const perCredential = rateLimit<ApiEnv>({
    perMinute: security.rateLimit.perKeyPerMinute,
    // The embedded UI is one shared principal for every browser on this host; its address budget applies.
    key: (c) => {
      const principal = c.get('principal');
      return principal?.via === 'embedded-ui' ? undefined : principal?.keyId;
    },
    what: 'for this credential',
  });
  const origins = new Set([
    ...security.temporalUiOrigins,
    ...(embeddedTemporalUiUrl ? embeddedUiOrigins(embeddedTemporalUiUrl) : []),
  ]);
  return {
    webhooks: ipAllowlist(security.ipAllowlist.webhooks, clientAddress),
    codec: every(
      apiAllowlist,
      // The UI calls the codec from the browser; credentials: true lets it send cookies or Authorization.
      cors({
        origin: (origin) => (origins.has(origin) ? origin : null),
        allowMethods: ['POST', 'OPTIONS'],
        allowHeaders: ['Authorization', 'Content-Type', 'X-Namespace'],
        credentials: true,
        maxAge: 600,
      }),
      perAddress,
      embeddedUiOrAuthenticate(embeddedTemporalUiUrl, authn),
      perCredential,
      authz,
    ),
    v1: every(apiAllowlist, perAddress, authn, perCredential, authz),
    console: every(apiAllowlist, perAddress),
  };
}
