// Assembles a whole Conduit instance from a Config: the Temporal dev server (unless an external cluster is
// configured), the database, the object store, the worker and the HTTP API. npm start, the integration tests
// and the benchmarks all start Conduit through this one function.
import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { Client, Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { createKeyVerifier, ensureBootstrapKey } from '../api/admin-keys.js';
import { createApp } from '../api/app.js';
import { startChannelStreams } from '../api/channel-streams.js';
import { createCredentialVerifier } from '../api/credential-verifier.js';
import { startGrpcServer } from '../api/grpc/server.js';
import { createStreamGuards } from '../api/stream-guards.js';
import { attachWebSocketHub } from '../api/websocket/hub.js';
import { startAuditMonitor } from '../audit/monitor.js';
import type { ChannelDeps } from '../channels/adapter.js';
import { API_CHANNEL, createApiChannelAdapter } from '../channels/api/adapter.js';
import { createGrpcChannelAdapter, GRPC_CHANNEL } from '../channels/grpc/adapter.js';
import { createChannelAdapters } from '../channels/registry.js';
import { createWebSocketChannelAdapter, WS_CHANNEL } from '../channels/websocket/adapter.js';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import { createMetrics, type Metrics } from '../core/metrics.js';
import { type DatabaseHandle, openDatabase } from '../db/client.js';
import { withPiiMasking } from '../llm/pii-masking-client.js';
import type { ResolvedProvider } from '../llm/presets.js';
import { createLlmRoles } from '../llm/roles.js';
import type { LlmClient } from '../llm/types.js';
import type { Progress } from '../platform/go-tool.js';
import { startStateGauges } from '../platform/state-gauges.js';
import { type RunningDevServer, startDevServer } from '../platform/temporal-dev-server.js';
import { ensureRetentionSchedule } from '../privacy/retention-schedule.js';
import { createJwtVerifier } from '../security/jwt-verifier.js';
import { createDataConverter, loadPayloadKeys } from '../security/keys.js';
import { httpsServeOptions, temporalTlsConfig } from '../security/tls.js';
import { type BlobStore, openBlobStore } from '../storage/blob-store.js';
import { loadTools } from '../tools/load.js';
import { createToolRegistry } from '../tools/registry.js';
import type { ToolDefinition } from '../tools/types.js';
import { createWorker, type WorkerSettings } from '../workers/create-worker.js';
import { startMetricsServer } from '../workers/metrics-server.js';
import { installSdkLogging } from '../workers/runtime-logging.js';

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
  /** host:port of the gRPC hub, when GRPC_PORT is set. */
  grpcAddress?: string;
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
    const apiOrigin = `${config.security.tls ? 'https' : 'http'}://${config.api.host === '0.0.0.0' ? '127.0.0.1' : config.api.host}:${config.api.port}`;

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
        // The embedded UI decodes encrypted payloads through the API's codec endpoints (docs/security.md).
        codecEndpoint: options.api !== false ? `${apiOrigin}/codec` : undefined,
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

    // Every payload this instance sends to Temporal is encrypted; client and worker share the converter.
    const payloadKeys = await loadPayloadKeys(config.security);
    if (payloadKeys.created) {
      progress(
        `payload encryption key generated in ${payloadKeys.source} (back it up: runs cannot be read without it)`,
      );
    }
    if (payloadKeys.looseMode)
      logger.warn({ file: payloadKeys.source, mode: payloadKeys.looseMode }, 'key file is readable by others');
    if (!config.security.payloadKeys && config.temporal.externalAddress) {
      // Other processes on this namespace can only read these runs if they hold the same key.
      logger.warn(
        { file: payloadKeys.source },
        'payload keys come from this instance’s key file; set CONDUIT_PAYLOAD_KEYS on every process sharing the namespace',
      );
    }
    const dataConverter = createDataConverter(payloadKeys.keys);
    const temporalTls = await temporalTlsConfig(config.temporal.tls);

    const connection = await Connection.connect({ address: temporalAddress, tls: temporalTls });
    stack.push(() => connection.close());
    const temporal = new Client({ connection, namespace: config.temporal.namespace, dataConverter });

    const channelDeps: ChannelDeps = { fetch: globalThis.fetch, now: () => new Date(), ...options.channelDeps };
    const channels = createChannelAdapters(config.env, channelDeps);
    channels.set(API_CHANNEL, createApiChannelAdapter());
    // Streaming clients read replies from the run's event log; these adapters only acknowledge the send.
    channels.set(WS_CHANNEL, createWebSocketChannelAdapter());
    channels.set(GRPC_CHANNEL, createGrpcChannelAdapter());

    let worker: Worker | undefined;
    if (options.worker !== false) {
      const sdkMetricsPort = config.metrics.temporalSdkPort;
      installSdkLogging(logger, {
        prometheusBindAddress: sdkMetricsPort ? `${config.api.host}:${sdkMetricsPort}` : undefined,
      });
      const llm = config.llm
        ? createLlmRoles(config.llm, {
            metrics,
            logger,
            wrapClient: (provider, client) => maskedLlmClient(config, provider, client),
          })
        : undefined;
      // MCP servers are connected here and closed after the worker has stopped (the stack unwinds in reverse).
      const loadedTools = await loadTools({ config, db: database.db, temporal, metrics, logger });
      stack.push(() => loadedTools.close());
      const tools = createToolRegistry([...loadedTools.tools, ...(options.tools ?? [])]);
      worker = await createWorker(
        {
          address: temporalAddress,
          namespace: config.temporal.namespace,
          taskQueue: config.temporal.taskQueue,
          tuning: options.workerTuning,
          dataConverter,
          tls: temporalTls,
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
    let grpcAddress: string | undefined;
    if (options.api !== false) {
      // API keys, and identity-provider JWTs when OIDC_ISSUER is set: one verifier for HTTP, WebSocket, gRPC.
      const verifyApiKey = createCredentialVerifier({
        apiKeys: createKeyVerifier(database.db, config.env.CONDUIT_ADMIN_API_KEY),
        jwt: config.security.oidc ? createJwtVerifier(config.security.oidc) : undefined,
        logger,
      });
      if (!config.env.CONDUIT_ADMIN_API_KEY) bootstrapAdminKey = await ensureBootstrapKey(database.db);
      // The audit chain is verified now and every five minutes (conduit_audit_chain_valid); the daily retention
      // purge is a Temporal Schedule, created or brought up to date by every API start.
      const auditMonitor = startAuditMonitor({ db: database.db, metrics, logger });
      stack.push(() => auditMonitor.stop());
      await ensureRetentionSchedule(temporal, config.temporal.taskQueue).catch((error) =>
        logger.warn({ err: error }, 'cannot create or update the daily retention purge schedule'),
      );
      const app = createApp({
        config,
        temporal,
        database,
        blobs,
        channels,
        logger,
        metrics,
        verifyApiKey,
        auditMonitor,
      });
      const server = await listen(
        app.fetch,
        config.api.host,
        config.api.port,
        await httpsServeOptions(config.security.tls),
      );
      stack.push(() => closeServer(server));
      // GET /v1/ws and gRPC: streaming clients, stopped before the database they read events from.
      const hubDeps = {
        temporal,
        taskQueue: config.temporal.taskQueue,
        db: database.db,
        blobs,
        verifyApiKey,
        guards: createStreamGuards(config.security),
        logger,
        metrics,
      };
      const webSocketHub = attachWebSocketHub(server as Server, hubDeps);
      stack.push(() => webSocketHub.close());
      if (config.grpc) {
        const grpcServer = await startGrpcServer(config.grpc.host, config.grpc.port, hubDeps, config.security.tls);
        stack.push(() => grpcServer.stop());
        grpcAddress = grpcServer.address;
      }
      // DingTalk Stream mode and the Feishu long connection: chat ingress without a public address.
      const streams = await startChannelStreams({ config, temporal, blobs, logger, metrics, channelDeps });
      stack.push(() => streams.stop());
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
      grpcAddress,
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
  https?: Awaited<ReturnType<typeof httpsServeOptions>>,
): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port, ...https }, () => resolve(server));
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

/** A configured provider's client, behind PII masking when it is remote (auto) or masking is forced on. */
function maskedLlmClient(config: Config, provider: ResolvedProvider, client: LlmClient): LlmClient {
  const mask = config.piiMasking.llm === 'on' || (config.piiMasking.llm === 'auto' && provider.remote);
  return mask ? withPiiMasking(client, { reversible: config.piiMasking.reversible }) : client;
}
