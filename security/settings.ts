// The security settings (docs/security.md): payload keys (an `id:base64` list), the codec's allowed
// origins, OIDC, IP allowlists and trusted proxies (IPs or CIDR ranges), API rate limits and TLS of the API.
import { isIP } from 'node:net';
import { z } from 'zod';
import {
  csv,
  nonNegativeInt,
  optionalString,
  optionalUrl,
  parseVariables,
  requireWhenSet,
  type Variables,
} from '../core/settings.js';
import { parseKeyList } from './key-list.js';
import type { EncryptionKey } from './payload-codec.js';

const keyList = optionalString
  .superRefine((value, ctx) => {
    if (value === undefined) return;
    try {
      parseKeyList(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  })
  .transform((value) => (value === undefined ? undefined : parseKeyList(value)));

const isIpOrCidr = (entry: string) => {
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
};

const addressList = csv.superRefine((entries, ctx) => {
  const bad = entries.find((entry) => !isIpOrCidr(entry));
  if (bad !== undefined) {
    ctx.addIssue({ code: 'custom', message: `${bad} is not an IP address or CIDR range (10.0.0.0/8, fd00::/8)` });
  }
});

const originList = csv.superRefine((entries, ctx) => {
  const bad = entries.find((entry) => !URL.canParse(entry) || new URL(entry).origin !== entry.replace(/\/$/, ''));
  if (bad !== undefined)
    ctx.addIssue({ code: 'custom', message: `${bad} is not an origin like https://ui.example.com` });
});

const JWT_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'] as const;
const algorithmList = csv.superRefine((entries, ctx) => {
  const bad = entries.find((entry) => !(JWT_ALGORITHMS as readonly string[]).includes(entry));
  if (bad !== undefined) ctx.addIssue({ code: 'custom', message: `${bad} is not one of ${JWT_ALGORITHMS.join(', ')}` });
});

const securityVariables = z
  .object({
    CONDUIT_PAYLOAD_KEYS: keyList,
    TEMPORAL_UI_ORIGIN: originList,
    OIDC_ISSUER: optionalUrl('an https:// issuer URL'),
    OIDC_AUDIENCE: csv,
    OIDC_JWKS_URL: optionalUrl('an https:// URL of a JSON Web Key Set'),
    OIDC_ALGORITHMS: algorithmList,
    OIDC_CLOCK_TOLERANCE_SECONDS: nonNegativeInt(30, 'a whole number of seconds'),
    OIDC_ROLE_CLAIM: z.string().min(1).default('roles'),
    OIDC_CONSOLE_CLIENT_ID: optionalString,
    OIDC_CONSOLE_CLIENT_SECRET: optionalString,
    OIDC_CONSOLE_REDIRECT_URL: optionalUrl('the https:// URL of /console/oidc/callback as the browser reaches it'),
    IP_ALLOWLIST_API: addressList,
    IP_ALLOWLIST_WEBHOOKS: addressList,
    TRUSTED_PROXIES: addressList,
    API_RATE_LIMIT_PER_KEY_PER_MINUTE: nonNegativeInt(600, 'a whole number of requests (0 disables)'),
    API_RATE_LIMIT_PER_IP_PER_MINUTE: nonNegativeInt(1200, 'a whole number of requests (0 disables)'),
    TLS_CERT_FILE: optionalString,
    TLS_KEY_FILE: optionalString,
    TLS_CLIENT_CA_FILE: optionalString,
  })
  .superRefine((env, ctx) => {
    requireWhenSet(
      env,
      [
        ['TLS_KEY_FILE', 'TLS_CERT_FILE'],
        ['TLS_CERT_FILE', 'TLS_KEY_FILE'],
        ['TLS_CLIENT_CA_FILE', 'TLS_CERT_FILE'],
        ['OIDC_ISSUER', 'OIDC_AUDIENCE'],
        ['OIDC_JWKS_URL', 'OIDC_ISSUER'],
        ['OIDC_CONSOLE_CLIENT_ID', 'OIDC_ISSUER'],
        ['OIDC_CONSOLE_CLIENT_SECRET', 'OIDC_CONSOLE_CLIENT_ID'],
        ['OIDC_CONSOLE_REDIRECT_URL', 'OIDC_CONSOLE_CLIENT_ID'],
      ],
      ctx,
    );
  });

export interface OidcSettings {
  issuer: string;
  audience: string[];
  /** Unset: the `jwks_uri` of the issuer's discovery document (security/oidc-discovery.ts). */
  jwksUrl?: string;
  algorithms: Array<(typeof JWT_ALGORITHMS)[number]>;
  clockToleranceSeconds: number;
  /** Claim holding role names; a dotted path reaches into objects (`realm_access.roles`). */
  roleClaim: string;
  /** Console sign-in with the provider (authorization code + PKCE); unset: the console takes API keys only. */
  console?: OidcConsoleClient;
}

export interface OidcConsoleClient {
  clientId: string;
  /** For a confidential client (sent with HTTP Basic to the token endpoint); a public client has none. */
  clientSecret?: string;
  /** Where the provider sends the browser back; unset: `<origin of the request>/console/oidc/callback`. */
  redirectUrl?: string;
}

export interface SecuritySettings {
  /** From CONDUIT_PAYLOAD_KEYS; unset: generated once into `keyDir/payload-keys`. */
  payloadKeys?: EncryptionKey[];
  keyDir: string;
  /** Origins allowed to call the codec endpoints (the Temporal UI). */
  temporalUiOrigins: string[];
  oidc?: OidcSettings;
  ipAllowlist: { api: string[]; webhooks: string[] };
  trustedProxies: string[];
  /** Token buckets per process; 0 disables a limit. */
  rateLimit: { perKeyPerMinute: number; perIpPerMinute: number };
  tls?: { certFile: string; keyFile: string; clientCaFile?: string };
}

/** `dataDir` holds the generated keys; `temporalUiPort` gives the default codec origins (the embedded UI). */
export function parseSecuritySettings(
  source: Variables,
  { dataDir, temporalUiPort }: { dataDir: string; temporalUiPort: number },
): SecuritySettings {
  const env = parseVariables(securityVariables, source);
  return {
    payloadKeys: env.CONDUIT_PAYLOAD_KEYS,
    keyDir: `${dataDir}/keys`,
    temporalUiOrigins:
      env.TEMPORAL_UI_ORIGIN.length > 0
        ? env.TEMPORAL_UI_ORIGIN.map((origin) => origin.replace(/\/$/, ''))
        : [`http://127.0.0.1:${temporalUiPort}`, `http://localhost:${temporalUiPort}`],
    oidc: env.OIDC_ISSUER
      ? {
          issuer: env.OIDC_ISSUER,
          audience: env.OIDC_AUDIENCE,
          jwksUrl: env.OIDC_JWKS_URL,
          algorithms:
            env.OIDC_ALGORITHMS.length > 0 ? (env.OIDC_ALGORITHMS as OidcSettings['algorithms']) : [...JWT_ALGORITHMS],
          clockToleranceSeconds: env.OIDC_CLOCK_TOLERANCE_SECONDS,
          roleClaim: env.OIDC_ROLE_CLAIM,
          console: env.OIDC_CONSOLE_CLIENT_ID
            ? {
                clientId: env.OIDC_CONSOLE_CLIENT_ID,
                clientSecret: env.OIDC_CONSOLE_CLIENT_SECRET,
                redirectUrl: env.OIDC_CONSOLE_REDIRECT_URL,
              }
            : undefined,
        }
      : undefined,
    ipAllowlist: { api: env.IP_ALLOWLIST_API, webhooks: env.IP_ALLOWLIST_WEBHOOKS },
    trustedProxies: env.TRUSTED_PROXIES,
    rateLimit: {
      perKeyPerMinute: env.API_RATE_LIMIT_PER_KEY_PER_MINUTE,
      perIpPerMinute: env.API_RATE_LIMIT_PER_IP_PER_MINUTE,
    },
    tls:
      env.TLS_CERT_FILE && env.TLS_KEY_FILE
        ? { certFile: env.TLS_CERT_FILE, keyFile: env.TLS_KEY_FILE, clientCaFile: env.TLS_CLIENT_CA_FILE }
        : undefined,
  };
}
