// The identity provider's discovery document (`<issuer>/.well-known/openid-configuration`, OpenID Connect
// Discovery 1.0): where its keys, authorize and token endpoints are. Providers put their key set at different
// paths (Keycloak `/protocol/openid-connect/certs`, Okta `/v1/keys`, Entra ID `/discovery/v2.0/keys`), so the
// document is the one place to learn it. Read once, kept for a while, shared by concurrent callers.
import { z } from 'zod';

const DEFAULT_MAX_AGE_MS = 10 * 60 * 1000;
const DEFAULT_TIMEOUT_MS = 5000;

const discoverySchema = z.object({
  issuer: z.string(),
  jwks_uri: z.url().optional(),
  authorization_endpoint: z.url().optional(),
  token_endpoint: z.url().optional(),
});
export type OidcDiscovery = z.infer<typeof discoverySchema>;

/** The document could not be read or is not for the configured issuer: the provider's fault, worth a retry. */
export class DiscoveryUnavailable extends Error {
  override readonly name = 'DiscoveryUnavailable';
}

export const discoveryUrl = (issuer: string) => `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;

export function createDiscoveryReader(
  issuer: string,
  options: { now?: () => number; maxAgeMs?: number; timeoutMs?: number } = {},
): () => Promise<OidcDiscovery> {
  const { now = Date.now, maxAgeMs = DEFAULT_MAX_AGE_MS, timeoutMs = DEFAULT_TIMEOUT_MS } = options;
  const url = discoveryUrl(issuer);
  let cached: { value: OidcDiscovery; fetchedAt: number } | undefined;
  let inFlight: Promise<OidcDiscovery> | undefined;

  async function fetchDocument(): Promise<OidcDiscovery> {
    let body: unknown;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      body = await response.json();
    } catch (error) {
      throw new DiscoveryUnavailable(`discovery ${url}: ${(error as Error).message}`);
    }
    const parsed = discoverySchema.safeParse(body);
    // The document must name the issuer Conduit trusts: another issuer's endpoints would mint tokens it refuses.
    if (!parsed.success || parsed.data.issuer !== issuer) {
      throw new DiscoveryUnavailable(`discovery ${url}: not for ${issuer}`);
    }
    cached = { value: parsed.data, fetchedAt: now() };
    return parsed.data;
  }

  return () => {
    if (cached && now() - cached.fetchedAt < maxAgeMs) return Promise.resolve(cached.value);
    inFlight ??= fetchDocument().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
}
