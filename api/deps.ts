// What the HTTP API needs, handed in by the process that serves it (npm start, a test, a benchmark).
import type { Client } from '@temporalio/client';
import type { AuditMonitor } from '../audit/monitor.js';
import type { ChannelAdapter } from '../channels/adapter.js';
import type { StreamStatus } from '../channels/stream-status.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { DatabaseHandle } from '../db/client.js';
import type { ProviderStatus } from '../llm/roles.js';
import type { Config } from '../platform/config.js';
import type { JwtVerifier } from '../security/jwt-verifier.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { Principal } from './admin-keys.js';

export interface ApiDeps {
  config: Config;
  temporal: Client;
  database: DatabaseHandle;
  blobs: BlobStore;
  channels: Map<string, ChannelAdapter>;
  logger: Logger;
  metrics: Metrics;
  verifyApiKey: (key: string) => Promise<Principal | undefined>;
  /** The identity provider's token verifier (OIDC_ISSUER set), the one inside verifyApiKey: the console's OIDC sign-in. */
  jwt?: JwtVerifier;
  /**
   * URL of the Temporal UI of the dev server this process started (none with TEMPORAL_ADDRESS): its requests
   * to /codec/decode need no credential (api/middleware/embedded-ui-trust.ts, docs/security.md).
   */
  embeddedTemporalUiUrl?: string;
  /** Why no message can be taken now (the data directory's disk is nearly full), or undefined: the doors ask it. */
  capacity?: () => Promise<string | undefined>;
  /** The periodic audit-chain check of this process; POST /v1/audit/verify runs it on demand. */
  auditMonitor?: AuditMonitor;
  /** The state of this process's stream connections (DingTalk Stream, Feishu long connection). */
  streamStatus?: () => StreamStatus[];
  /** The model providers of a worker in this process; undefined when none runs here (the breakers live there). */
  modelProviders?: () => ProviderStatus[] | undefined;
  now?: () => Date;
}

export interface ApiEnv {
  Variables: { principal: Principal };
}
