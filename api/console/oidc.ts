// Console sign-in with the identity provider: the OAuth 2.0 authorization code flow with PKCE (S256), a state
// and a nonce, against OIDC_ISSUER as its discovery document describes it. Written by hand (two requests and a
// redirect): `start` remembers a pending sign-in server-side (console_sign_ins, so the provider may send the browser
// back to any API replica) and sends the browser to the provider; `finish`
// takes the provider's answer once, exchanges the code and verifies the ID token with the API's JWT verifier
// (issuer, audience = the console's client id, nonce, expiry, JWKS), so roles map as for bearer tokens.
import { createHash, randomBytes } from 'node:crypto';
import { desc, eq, inArray, lte } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../../db/client.js';
import { consoleSignIns } from '../../db/schema.js';
import { type JwtVerifier, type TokenIdentity, TokenRejectedError } from '../../security/jwt-verifier.js';
import { createDiscoveryReader, discoveryUrl, type OidcDiscovery } from '../../security/oidc-discovery.js';
import type { OidcConsoleClient } from '../../security/settings.js';
import type { Principal } from '../admin-keys.js';
import { principalOfToken } from '../credential-verifier.js';
import { sha256Hex } from './sessions.js';

/** A sign-in left at the provider longer than this must start again. */
export const PENDING_TTL_MS = 10 * 60 * 1000;
/** Unauthenticated callers can start sign-ins: the table of pending ones is bounded (the newest kept). */
const MAX_PENDING = 10_000;
const FETCH_TIMEOUT_MS = 5000;
export const CALLBACK_PATH = '/console/oidc/callback';

/** A refusal the sign-in page shows as it is: `status` 401 for a bad answer, 502 when the provider failed. */
export class SignInRefused extends Error {
  override readonly name = 'SignInRefused';
  constructor(
    readonly status: 400 | 401 | 502,
    readonly userMessage: string,
    reason: string,
  ) {
    super(reason);
  }
}

const tokenResponseSchema = z.object({ id_token: z.string().min(1) });

interface PendingSignIn {
  verifier: string;
  nonce: string;
  redirectUri: string;
  expiresAt: number;
}

export interface OidcSignIn {
  /** "Sign in with <this>": the issuer's host. */
  providerName: string;
  /** The provider's authorize URL for a new sign-in, and its state (the browser keeps it in a cookie). */
  start(requestUrl: string): Promise<{ location: string; state: string }>;
  /** The callback's query and the state cookie → the principal, or SignInRefused. */
  finish(query: { state?: string; code?: string; error?: string }, stateCookie: string | undefined): Promise<Principal>;
}

export function createOidcSignIn(options: {
  issuer: string;
  client: OidcConsoleClient;
  jwt: JwtVerifier;
  db: Database;
  now?: () => number;
}): OidcSignIn {
  const { issuer, client, jwt, db, now = Date.now } = options;
  const readDiscovery = createDiscoveryReader(issuer, { now, timeoutMs: FETCH_TIMEOUT_MS });

  async function discover(): Promise<{ authorization_endpoint: string; token_endpoint: string }> {
    let document: OidcDiscovery;
    try {
      document = await readDiscovery();
    } catch (error) {
      throw providerDown((error as Error).message);
    }
    const { authorization_endpoint, token_endpoint } = document;
    if (!authorization_endpoint || !token_endpoint) {
      throw providerDown(`discovery ${discoveryUrl(issuer)}: no authorization or token endpoint`);
    }
    return { authorization_endpoint, token_endpoint };
  }

  async function remember(state: string, entry: PendingSignIn): Promise<void> {
    await db.delete(consoleSignIns).where(lte(consoleSignIns.expiresAt, new Date(now())));
    await db.insert(consoleSignIns).values({
      stateHash: sha256Hex(state),
      verifier: entry.verifier,
      nonce: entry.nonce,
      redirectUri: entry.redirectUri,
      expiresAt: new Date(entry.expiresAt),
    });
    // Beyond the bound, the sign-ins that expire first go: a flood of starts cannot grow the table for ever.
    await db
      .delete(consoleSignIns)
      .where(
        inArray(
          consoleSignIns.stateHash,
          db
            .select({ stateHash: consoleSignIns.stateHash })
            .from(consoleSignIns)
            .orderBy(desc(consoleSignIns.expiresAt))
            .offset(MAX_PENDING),
        ),
      );
  }

  /** The pending sign-in of this state, taken out in the same statement: one use, whichever replica asks. */
  async function take(state: string): Promise<PendingSignIn | undefined> {
    const [row] = await db
      .delete(consoleSignIns)
      .where(eq(consoleSignIns.stateHash, sha256Hex(state)))
      .returning();
    return row && { ...row, expiresAt: row.expiresAt.getTime() };
  }

  return {
    providerName: new URL(issuer).host,

    async start(requestUrl) {
      const { authorization_endpoint } = await discover();
      const state = randomToken();
      const nonce = randomToken();
      const verifier = randomToken();
      const redirectUri = client.redirectUrl ?? `${new URL(requestUrl).origin}${CALLBACK_PATH}`;
      await remember(state, { verifier, nonce, redirectUri, expiresAt: now() + PENDING_TTL_MS });
      const location = new URL(authorization_endpoint);
      location.search = new URLSearchParams({
        ...Object.fromEntries(location.searchParams),
        response_type: 'code',
        client_id: client.clientId,
        redirect_uri: redirectUri,
        scope: 'openid profile email',
        state,
        nonce,
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
      }).toString();
      return { location: location.toString(), state };
    },

    async finish(query, stateCookie) {
      // One use per state, whatever happens next: a replayed callback finds nothing.
      const entry = query.state ? await take(query.state) : undefined;
      // The state must be the one this browser started with (its cookie): someone else's callback link
      // (login CSRF) carries a state the victim's browser never had.
      if (!entry || entry.expiresAt <= now() || stateCookie !== query.state) {
        throw new SignInRefused(400, 'This sign-in link is not valid or has expired; start again.', 'unknown state');
      }
      if (query.error || !query.code) {
        throw new SignInRefused(401, 'The identity provider did not sign you in.', `provider error ${query.error}`);
      }
      const { token_endpoint } = await discover();
      const idToken = await exchangeCode(token_endpoint, query.code, entry);
      let identity: TokenIdentity;
      try {
        identity = await jwt(idToken, { audience: client.clientId, nonce: entry.nonce });
      } catch (error) {
        if (error instanceof TokenRejectedError) {
          throw new SignInRefused(401, "The identity provider's answer was not accepted.", error.message);
        }
        throw providerDown(`id token keys: ${(error as Error).message}`);
      }
      const principal = principalOfToken(identity);
      if (!principal) {
        throw new SignInRefused(401, 'Your account has no Conduit role; ask an admin.', 'no Conduit role');
      }
      return principal;
    },
  };

  async function exchangeCode(tokenEndpoint: string, code: string, entry: PendingSignIn): Promise<string> {
    const form = new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: entry.redirectUri,
      code_verifier: entry.verifier,
    });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (client.clientSecret) {
      // client_secret_basic (RFC 6749 2.3.1): both parts form-encoded before base64.
      const basic = `${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`;
      headers.authorization = `Basic ${Buffer.from(basic).toString('base64')}`;
    } else {
      form.set('client_id', client.clientId);
    }
    let response: Response;
    try {
      response = await fetch(tokenEndpoint, {
        method: 'POST',
        headers,
        body: form.toString(),
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      });
    } catch (error) {
      throw providerDown(`token endpoint: ${(error as Error).message}`);
    }
    const body = (await response.json().catch(() => undefined)) as { error?: unknown } | undefined;
    if (response.status === 400 || response.status === 401) {
      // invalid_grant: a used or unknown code, or a PKCE verifier that does not match the challenge.
      throw new SignInRefused(
        401,
        'The identity provider refused the sign-in; start again.',
        `token endpoint: ${String(body?.error ?? response.status)}`,
      );
    }
    const parsed = tokenResponseSchema.safeParse(body);
    if (!response.ok || !parsed.success) throw providerDown(`token endpoint: HTTP ${response.status}`);
    return parsed.data.id_token;
  }
}

const randomToken = () => randomBytes(32).toString('base64url');

const providerDown = (reason: string) =>
  new SignInRefused(502, 'The identity provider could not be reached; try again shortly.', reason);
