// What activities need from the outside world, handed in by the worker (and by tests, with real services).
import type { Client } from '@temporalio/client';
import type { ChannelAdapter } from '../channels/adapter.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Database } from '../db/client.js';
import type { LlmRoles } from '../llm/roles.js';
import type { Config } from '../platform/config.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { ToolRegistry } from '../tools/registry.js';

export interface ActivityDeps {
  config: Config;
  db: Database;
  blobs: BlobStore;
  channels: Map<string, ChannelAdapter>;
  temporal: Client;
  /** The model per pipeline step (intent, plan), each behind its provider failover list; unset: no model. */
  llm?: LlmRoles;
  tools: ToolRegistry;
  logger: Logger;
  metrics: Metrics;
}
