// What every process role needs before it can do anything: the Temporal frontend (the embedded dev server
// unless TEMPORAL_ADDRESS names a cluster), payload keys and the data converter, the Temporal client, the
// database, the object store, the metrics registry with its state gauges, and the chat channel adapters.
// startRoles opens these once and starts the roles given to it on top (api/start-api.ts,
// workers/start-worker.ts); it is how `npm start`, `npm run api` and `npm run worker` are put together.
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { Worker } from '@temporalio/worker';
import type { ChannelAdapter, ChannelDeps } from '../channels/adapter.js';
import { API_CHANNEL, createApiChannelAdapter } from '../channels/api/adapter.js';
import { createChannelAdapters } from '../channels/create-adapters.js';
import { createGrpcChannelAdapter, GRPC_CHANNEL } from '../channels/grpc/adapter.js';
import { createWebSocketChannelAdapter, WS_CHANNEL } from '../channels/websocket/adapter.js';
import type { Logger } from '../core/logger.js';
import { createMetrics, type Metrics } from '../core/metrics.js';
import { type DatabaseHandle, openDatabase } from '../db/client.js';
import { createDatabaseSignatureClaims } from '../db/signature-claims.js';
import type { ProviderStatus } from '../llm/roles.js';
import { temporalRetryInterceptor } from '../runs/refused-start-retry.js';
import { createDataConverter, loadPayloadKeys } from '../security/keys.js';
import { temporalTlsConfig } from '../security/tls.js';
import type { BlobStore } from '../storage/blob-store.js';
import { openBlobStore } from '../storage/open-blob-store.js';
import type { Config } from './config.js';
import { createDataDiskGuard, type DataDiskGuard } from './data-disk-guard.js';
import type { Progress } from './go-tool.js';
import { checkPorts, type PortClaim } from './ports.js';
import { makeDataDirPrivate } from './private-data-dir.js';
import { ensureSearchAttributes } from './search-attributes.js';
import { startStateGauges } from './state-gauges.js';
import { type RunningDevServer, startDevServer, stopLeftoverDevServer } from './temporal-dev-server.js';

export interface ServiceOptions {
  projectRoot: string;
  logger: Logger;
  progress?: Progress;
  channelDeps?: Partial<ChannelDeps>;
  metrics?: Metrics;
  /** Where the embedded Temporal UI sends payloads to be decoded (the API's /codec), when this process has an API. */
  codecEndpoint?: string;
}

export interface Services {
  config: Config;
  logger: Logger;
  progress: Progress;
  /** host:port of the Temporal frontend: the embedded dev server's, or TEMPORAL_ADDRESS. */
  temporalAddress: string;
  /** The embedded dev server, when this process started one. */
  devServer?: RunningDevServer;
  temporal: Client;
  /** Shared by the client and the worker: every payload this instance sends to Temporal is encrypted. */
  dataConverter: DataConverter;
  temporalTls?: TLSConfig;
  database: DatabaseHandle;
  blobs: BlobStore;
  metrics: Metrics;
  channelDeps: ChannelDeps;
  channels: Map<string, ChannelAdapter>;
  /** Refuses new messages while the data directory's disk is nearly full (DATA_DIR_MIN_FREE_MB). */
  dataDiskGuard: DataDiskGuard;
  /**
   * The model providers of the worker in this process, as the API of the same process may show them (breakers
   * live in the worker's memory). The worker role sets `read` while it runs; unset, there is no worker here.
   */
  modelProviders: { read?: () => ProviderStatus[] };
  stop(): Promise<void>;
}

/** What a started role adds to the process (each field only when the role has it). */
export interface RoleHandle {
  apiUrl?: string;
  metricsUrl?: string;
  grpcAddress?: string;
  bootstrapAdminKey?: string;
  worker?: Worker;
  /** Runs once the whole start has succeeded and been announced (the API stores the key it showed). */
  afterAnnounce?(): Promise<void>;
  stop(): Promise<void>;
}

/** A process role: the ports it will listen on (checked before anything starts) and how it starts. */
export interface Role {
  ports(config: Config): PortClaim[];
  start(services: Services): Promise<RoleHandle>;
}

/** The ports the shared services listen on: the embedded dev server's, unless TEMPORAL_ADDRESS is set. */
export function servicePorts(config: Config): PortClaim[] {
  if (config.temporal.externalAddress) return [];
  return [
    { port: config.temporal.devPort, host: '127.0.0.1', setting: 'TEMPORAL_DEV_PORT' },
    { port: config.temporal.uiPort, host: '127.0.0.1', setting: 'TEMPORAL_UI_PORT' },
  ];
}

export interface Platform {
  config: Config;
  apiUrl?: string;
  temporalAddress: string;
  temporalUiUrl?: string;
  /** The embedded, supervised Temporal dev server, when this process started one. */
  devServer?: RunningDevServer;
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

/** The API's own origin as seen from this host (0.0.0.0 is reached through the loopback address). */
export function apiOrigin(config: Config): string {
  const host = config.api.host === '0.0.0.0' ? '127.0.0.1' : config.api.host;
  return `${config.security.tls ? 'https' : 'http'}://${host}:${config.api.port}`;
}

/** A stack of stop steps, unwound in reverse; a failing step is logged and the rest still run. */
export function stopStack(logger: Logger) {
  const steps: Array<() => Promise<void>> = [];
  return {
    push: (step: () => Promise<void>) => steps.push(step),
    async stop() {
      for (const step of steps.reverse()) {
        try {
          await step();
        } catch (error) {
          logger.warn({ err: error }, 'error while stopping');
        }
      }
      steps.length = 0;
    },
  };
}

export async function openServices(config: Config, options: ServiceOptions): Promise<Services> {
  const { logger } = options;
  const progress = options.progress ?? ((line: string) => logger.info(line));
  const stack = stopStack(logger);

  try {
    await makeDataDirPrivate(config.dataDir);

    const metrics = options.metrics ?? createMetrics();
    let devServer: RunningDevServer | undefined;
    let temporalAddress = config.temporal.externalAddress;
    if (!temporalAddress) {
      const started = await startDevServer({
        projectRoot: options.projectRoot,
        dataDir: config.dataDir,
        port: config.temporal.devPort,
        uiPort: config.temporal.uiPort,
        namespace: config.temporal.namespace,
        cliVersion: config.temporal.cliVersion,
        // The embedded UI decodes encrypted payloads through the API's codec endpoints (docs/security.md).
        codecEndpoint: options.codecEndpoint,
        progress,
        logger,
        onRestart: () => metrics.temporalDevServerRestarts.inc(),
      });
      devServer = started;
      stack.push(() => started.stop());
      temporalAddress = started.address;
    }

    const database = await openDatabase(config.database);
    stack.push(() => database.close());
    const blobs = await openBlobStore(config.blobs);
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

    // The SDK's retry policy, except for the door's starts (runs/refused-start-retry.ts).
    const connection = await Connection.connect({
      address: temporalAddress,
      tls: temporalTls,
      interceptors: [temporalRetryInterceptor],
    });
    stack.push(() => connection.close());
    const temporal = new Client({ connection, namespace: config.temporal.namespace, dataConverter });
    // Runs are started with Conduit's search attributes: a namespace without them would refuse every run.
    const attributes = await ensureSearchAttributes(temporal, config.temporal.namespace);
    if (attributes.added.length > 0) progress(`Temporal search attributes registered: ${attributes.added.join(', ')}`);
    if (attributes.unchecked) {
      logger.warn(
        { namespace: config.temporal.namespace },
        'could not check the namespace for Conduit search attributes (operator API refused); they must be registered once (docs/deploy.md)',
      );
    }

    const channelDeps: ChannelDeps = {
      fetch: globalThis.fetch,
      now: () => new Date(),
      // Every API replica shares the database, so a DingTalk signature accepted by one is refused by all.
      signatureClaims: createDatabaseSignatureClaims(database.db),
      ...options.channelDeps,
    };
    const channels = createChannelAdapters(config.channels, channelDeps);
    channels.set(API_CHANNEL, createApiChannelAdapter());
    // Streaming clients read replies from the run's event log; these adapters only acknowledge the send.
    channels.set(WS_CHANNEL, createWebSocketChannelAdapter());
    channels.set(GRPC_CHANNEL, createGrpcChannelAdapter());

    return {
      config,
      logger,
      progress,
      temporalAddress,
      devServer,
      temporal,
      dataConverter,
      temporalTls,
      database,
      blobs,
      metrics,
      channelDeps,
      channels,
      modelProviders: {},
      dataDiskGuard: createDataDiskGuard({
        dir: config.dataDir,
        // Only where a message is written to the data directory (the embedded Temporal, PGlite, the filesystem
        // store): with all three external, a full local disk does not stop a message from being recorded.
        minFreeBytes: embeddedWrites(config) ? config.dataDirMinFreeBytes : 0,
        metrics,
      }),
      stop: stack.stop,
    };
  } catch (error) {
    await stack.stop();
    throw error;
  }
}

/**
 * Checks every port the services and roles will listen on, opens the services and starts the roles on them in
 * order; stopping unwinds the roles in reverse, then the services. A role that fails to start stops everything
 * started before it.
 */
export interface StartOptions extends ServiceOptions {
  /** Shows the started platform (the ready banner with a bootstrap admin key); roles finish after it. */
  announce?(platform: Platform): void | Promise<void>;
}

export async function startRoles(config: Config, options: StartOptions, roles: Role[]): Promise<Platform> {
  if (!config.temporal.externalAddress) {
    await stopLeftoverDevServer(config.dataDir, options.progress ?? ((line) => options.logger.info(line)));
  }
  await checkPorts([...servicePorts(config), ...roles.flatMap((role) => role.ports(config))]);
  const services = await openServices(config, options);
  const stack = stopStack(options.logger);
  stack.push(() => services.stop());
  const handles: RoleHandle[] = [];
  try {
    for (const role of roles) {
      const handle = await role.start(services);
      handles.push(handle);
      stack.push(() => handle.stop());
    }
  } catch (error) {
    await stack.stop();
    throw error;
  }
  const pick = <K extends keyof RoleHandle>(key: K) => handles.find((handle) => handle[key] !== undefined)?.[key];
  const platform: Platform = {
    config,
    apiUrl: pick('apiUrl'),
    temporalAddress: services.temporalAddress,
    temporalUiUrl: services.devServer?.uiUrl,
    devServer: services.devServer,
    metricsUrl: pick('metricsUrl'),
    grpcAddress: pick('grpcAddress'),
    bootstrapAdminKey: pick('bootstrapAdminKey'),
    temporal: services.temporal,
    database: services.database,
    blobs: services.blobs,
    metrics: services.metrics,
    worker: pick('worker') as Worker | undefined,
    stop: stack.stop,
  };
  try {
    await options.announce?.(platform);
    for (const handle of handles) await handle.afterAnnounce?.();
  } catch (error) {
    await stack.stop();
    throw error;
  }
  return platform;
}

/** Whether messages are written under the data directory: by the embedded Temporal, PGlite or the filesystem store. */
function embeddedWrites(config: Config): boolean {
  return !config.temporal.externalAddress || config.database.kind === 'pglite' || config.blobs.kind === 'filesystem';
}
