// Assembles a whole Conduit instance from a Config: the Temporal dev server (unless an external cluster is
// configured), the database, the object store, the worker and the HTTP API. npm start, the integration tests
// and the benchmarks all start Conduit through this one function.
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { Client, Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { createKeyVerifier, ensureBootstrapKey } from '../api/admin-keys.js';
import { createApp } from '../api/app.js';
import type { ChannelDeps } from '../channels/adapter.js';
import { API_CHANNEL, createApiChannelAdapter } from '../channels/api/adapter.js';
import { createChannelAdapters } from '../channels/registry.js';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import { createMetrics, type Metrics } from '../core/metrics.js';
import { type DatabaseHandle, openDatabase } from '../db/client.js';
import { createLlmClient } from '../llm/client.js';
import { withPiiMasking } from '../llm/pii-masking-client.js';
import { resolveProvider } from '../llm/presets.js';
import { type BlobStore, openBlobStore } from '../storage/blob-store.js';
import { createBuiltinTools } from '../tools/builtin/index.js';
import { createToolRegistry } from '../tools/registry.js';
import type { ToolDefinition } from '../tools/types.js';
import { createWorker, type WorkerSettings } from '../workers/create-worker.js';
import { installSdkLogging } from '../workers/runtime-logging.js';
import type { Progress } from './go-tool.js';
import { startMetricsServer } from './metrics-server.js';
import { startStateGauges } from './state-gauges.js';
import { type RunningDevServer, startDevServer } from './temporal-dev-server.js';

export interface PlatformOptions {
  projectRoot: string;
  logger: Logger;
  progress?: Progress;
  /** Run the worker in this process (default true); false for an API-only process. */
  worker?: boolean;
  /** Serve the HTTP API (default true); false for a worker-only process. */
  api?: boolean;
  workerTuning?: WorkerSettings['tuning'];
  channelDeps?: Partial<ChannelDeps>;
  metrics?: Metrics;
  /** Tools registered beside the built-ins (deployment-specific tools, MCP bridges). */
  tools?: ToolDefinition[];
}

export interface Platform {
  config: Config;
  apiUrl?: string;
  temporalAddress: string;
  temporalUiUrl?: string;
  metricsUrl?: string;
  /** Shown once, on the start that created it. */
  bootstrapAdminKey?: string;
  temporal: Client;
  database: DatabaseHandle;
  blobs: BlobStore;
  metrics: Metrics;
  worker?: Worker;
  stop(): Promise<void>;
}

export async function startPlatform(config: Config, options: PlatformOptions): Promise<Platform> {
  const { logger } = options;
  const progress = options.progress ?? ((line: string) => logger.info(line));
  const stack: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const step of stack.reverse()) {
      try {
        await step();
      } catch (error) {
        logger.warn({ err: error }, 'error while stopping');
      }
    }
    stack.length = 0;
  };

  try {
    await mkdir(config.dataDir, { recursive: true });
    const apiOrigin = `http://${config.api.host === '0.0.0.0' ? '127.0.0.1' : config.api.host}:${config.api.port}`;

    let devServer: RunningDevServer | undefined;
    let temporalAddress = config.temporal.externalAddress;
    if (!temporalAddress) {
      devServer = await startDevServer({
        projectRoot: options.projectRoot,
        dataDir: config.dataDir,
        port: config.temporal.devPort,
        uiPort: config.temporal.uiPort,
        namespace: config.temporal.namespace,
        cliVersion: config.temporal.cliVersion,
        progress,
      });
      stack.push(() => devServer!.stop());
      temporalAddress = devServer.address;
    }

    const database = await openDatabase(config.database);
    stack.push(() => database.close());
    const blobs = await openBlobStore(config.blobs);
    const metrics = options.metrics ?? createMetrics();
    const stateGauges = await startStateGauges(metrics, { dataDir: config.dataDir, db: database.db, logger });
    stack.push(async () => stateGauges.stop());

    const connection = await Connection.connect({ address: temporalAddress });
    stack.push(() => connection.close());
    const temporal = new Client({ connection, namespace: config.temporal.namespace });

    const channelDeps: ChannelDeps = { fetch: globalThis.fetch, now: () => new Date(), ...options.channelDeps };
    const channels = createChannelAdapters(config.env, channelDeps);
    channels.set(API_CHANNEL, createApiChannelAdapter());

    let worker: Worker | undefined;
    if (options.worker !== false) {
      const sdkMetricsPort = config.metrics.temporalSdkPort;
      installSdkLogging(logger, {
        prometheusBindAddress: sdkMetricsPort ? `${config.api.host}:${sdkMetricsPort}` : undefined,
      });
      const llm = config.llm ? createMaskedLlmClient(config) : undefined;
      const tools = createToolRegistry([
        ...createBuiltinTools({ httpAllowedHosts: config.tools.httpAllowedHosts }),
        ...(options.tools ?? []),
      ]);
      worker = await createWorker(
        {
          address: temporalAddress,
          namespace: config.temporal.namespace,
          taskQueue: config.temporal.taskQueue,
          tuning: options.workerTuning,
        },
        { config, db: database.db, blobs, channels, temporal, llm, tools, logger, metrics },
      );
      const running = worker.run();
      running.catch((error) => logger.error({ err: error }, 'worker stopped with an error'));
      const w = worker;
      stack.push(async () => {
        if (w.getState() === 'RUNNING') w.shutdown();
        await running.catch(() => undefined);
      });
    }

    let apiUrl: string | undefined;
    let bootstrapAdminKey: string | undefined;
    if (options.api !== false) {
      if (!config.env.CONDUIT_ADMIN_API_KEY) bootstrapAdminKey = await ensureBootstrapKey(database.db);
      const app = createApp({
        config,
        temporal,
        database,
        blobs,
        channels,
        logger,
        metrics,
        verifyApiKey: createKeyVerifier(database.db, config.env.CONDUIT_ADMIN_API_KEY),
      });
      const server = await listen(app.fetch, config.api.host, config.api.port);
      stack.push(() => closeServer(server));
      const port = (server.address() as AddressInfo).port;
      apiUrl = port === config.api.port ? apiOrigin : apiOrigin.replace(/:\d+$/, `:${port}`);
    }

    // A worker-only process has no API to carry /metrics, so it gets a small server of its own.
    let metricsUrl = apiUrl && config.metrics.enabled ? `${apiUrl}/metrics` : undefined;
    if (options.api === false && config.metrics.enabled) {
      const w = worker;
      const server = await startMetricsServer(metrics, {
        host: config.api.host,
        port: config.metrics.port,
        isReady: () => w?.getState() === 'RUNNING',
      });
      stack.push(() => server.stop());
      metricsUrl = `${server.url}/metrics`;
    }

    return {
      config,
      apiUrl,
      temporalAddress,
      temporalUiUrl: devServer?.uiUrl,
      metricsUrl,
      bootstrapAdminKey,
      temporal,
      database,
      blobs,
      metrics,
      worker,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function listen(
  fetch: (request: Request) => Response | Promise<Response>,
  hostname: string,
  port: number,
): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port }, () => resolve(server));
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new Error(`PORT ${port} on ${hostname} is already in use`) : error),
    );
  });
}

function closeServer(server: ServerType): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Keep-alive connections would hold close() open; idle ones are dropped now.
    (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  });
}

/** The configured model, behind PII masking when the provider is remote (auto) or masking is forced on. */
function createMaskedLlmClient(config: Config) {
  const provider = resolveProvider(config.llm!);
  const client = createLlmClient(provider);
  const mask = config.piiMasking.llm === 'on' || (config.piiMasking.llm === 'auto' && provider.remote);
  return mask ? withPiiMasking(client, { reversible: config.piiMasking.reversible }) : client;
}
