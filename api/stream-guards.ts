// The management API's guards for the doors that bypass Hono middleware: WebSocket upgrades and gRPC calls
// get the same IP allowlist (IP_ALLOWLIST_API), per-address and per-credential rate limits, and role checks
// as /v1 (see guards.ts), built from the same settings and security/ helpers.

import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Database } from '../db/client.js';
import type { AcceptDeps } from '../runs/accept-message.js';
import { createAddressMatcher, resolveClientAddress } from '../security/client-ip.js';
import { can, type Permission } from '../security/rbac.js';
import type { SecuritySettings } from '../security/settings.js';
import { createTokenBuckets, type TakeResult } from '../security/token-bucket.js';
import type { Principal } from './admin-keys.js';

/** What a streaming endpoint (the WebSocket hub, the gRPC server) needs beside starting runs. */
export interface StreamEndpointDeps extends AcceptDeps {
  /** The run-event log the endpoints follow runs through. */
  db: Database;
  verifyApiKey: (key: string) => Promise<Principal | undefined>;
  guards: StreamGuards;
  logger: Logger;
  metrics: Metrics;
  now?: () => Date;
  pollMs?: number;
  /** Bytes a connection may hold for a slow client before delivery waits (stream-backpressure.ts). */
  sendBufferBytes?: number;
  /** How long delivery waits on a client that does not read before it is cut off. */
  sendStallMs?: number;
}

export type StreamGuardSettings = Pick<SecuritySettings, 'ipAllowlist' | 'trustedProxies' | 'rateLimit'>;

export interface StreamGuards {
  /** The caller's address: the peer's, or from X-Forwarded-For only when the peer is a trusted proxy. */
  clientAddress(peer: string | undefined, forwardedFor: string | undefined): string;
  /** Whether the address may reach the API at all; an empty allowlist allows everyone. */
  allows(address: string): boolean;
  /** Spends one request of the address's budget (before authentication, so guessing keys costs too). */
  takeForAddress(address: string): TakeResult;
  /** Spends one request of the credential's budget. */
  takeForCredential(principal: Principal): TakeResult;
}

const unlimited: TakeResult = { ok: true, remaining: Number.POSITIVE_INFINITY };

export function createStreamGuards(settings: StreamGuardSettings): StreamGuards {
  const trusted = createAddressMatcher(settings.trustedProxies);
  const allowlist = settings.ipAllowlist.api;
  const allowed = createAddressMatcher(allowlist);
  const perAddress = createTokenBuckets({ perMinute: settings.rateLimit.perIpPerMinute });
  const perCredential = createTokenBuckets({ perMinute: settings.rateLimit.perKeyPerMinute });
  return {
    clientAddress: (peer, forwardedFor) => (peer ? resolveClientAddress(peer, forwardedFor, trusted) : ''),
    allows: (address) => allowlist.length === 0 || (address !== '' && allowed(address)),
    takeForAddress: (address) =>
      settings.rateLimit.perIpPerMinute > 0 && address ? perAddress.take(address) : unlimited,
    takeForCredential: (principal) =>
      settings.rateLimit.perKeyPerMinute > 0 ? perCredential.take(principal.keyId) : unlimited,
  };
}

export function may(principal: Principal, permission: Permission): boolean {
  return can(principal.roles ?? [principal.role], permission);
}
