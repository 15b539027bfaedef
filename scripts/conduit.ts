// The all-in-one composition: the shared services (with the embedded Temporal dev server unless an external
// cluster is configured), the worker role and the API role in one process. npm start, the integration tests
// and the benchmarks start Conduit through this one function; `npm run api` and `npm run worker` start one
// role each (api/server.ts, workers/main.ts).
import { apiRole } from '../api/start-api.js';
import type { ChannelDeps } from '../channels/adapter.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Config } from '../platform/config.js';
import type { Progress } from '../platform/go-tool.js';
import { apiOrigin, type Platform, type Role, type StartOptions, startRoles } from '../platform/open-services.js';
import type { ToolDefinition } from '../tools/types.js';
import { type WorkerRoleOptions, workerRole } from '../workers/start-worker.js';

export type { Platform } from '../platform/open-services.js';

export interface PlatformOptions {
  projectRoot: string;
  logger: Logger;
  progress?: Progress;
  /** Run the worker in this process (default true); false for an API-only process. */
  worker?: boolean;
  /** Serve the HTTP API (default true); false for a worker-only process. */
  api?: boolean;
  workerTuning?: WorkerRoleOptions['tuning'];
  channelDeps?: Partial<ChannelDeps>;
  metrics?: Metrics;
  /** Tools registered beside the built-ins (deployment-specific tools, MCP bridges). */
  tools?: ToolDefinition[];
  /** Shows the started platform before the start completes (StartOptions.announce). */
  announce?: StartOptions['announce'];
}

export function startPlatform(config: Config, options: PlatformOptions): Promise<Platform> {
  const api = options.api !== false;
  const roles: Role[] = [];
  if (options.worker !== false) {
    // A process without an API has no /metrics of its own, so the worker serves one on METRICS_PORT.
    roles.push(workerRole({ tuning: options.workerTuning, tools: options.tools, metricsServer: !api }));
  }
  if (api) roles.push(apiRole);
  return startRoles(
    config,
    {
      projectRoot: options.projectRoot,
      logger: options.logger,
      progress: options.progress,
      channelDeps: options.channelDeps,
      metrics: options.metrics,
      codecEndpoint: api ? `${apiOrigin(config)}/codec` : undefined,
      announce: options.announce,
    },
    roles,
  );
}
