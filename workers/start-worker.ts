// The worker role on top of the shared services (platform/open-services.ts): the LLM roles (behind PII
// masking where configured), the tools with their MCP connections, the Temporal Worker, and, in a process
// without an API, a small server of its own for /metrics and the probes.

import { withPiiMasking } from '../llm/pii-masking-client.js';
import type { ResolvedProvider } from '../llm/presets.js';
import { createLlmProviders } from '../llm/roles.js';
import type { LlmClient } from '../llm/types.js';
import type { Config } from '../platform/config.js';
import { type Role, type RoleHandle, type Services, stopStack } from '../platform/open-services.js';
import { loadTools } from '../tools/load.js';
import { createToolRegistry } from '../tools/registry.js';
import type { ToolDefinition } from '../tools/types.js';
import { createWorker, type WorkerSettings } from './create-worker.js';
import { startMetricsServer } from './metrics-server.js';
import { installSdkLogging, sdkRuntimeInstalled } from './runtime-logging.js';

export interface WorkerRoleOptions {
  tuning?: WorkerSettings['tuning'];
  /** Tools registered beside the built-ins (deployment-specific tools, MCP bridges). */
  tools?: ToolDefinition[];
  /** Serve /metrics, /healthz and /readyz on METRICS_PORT: a worker-only process has no API to carry them. */
  metricsServer?: boolean;
}

export function workerRole(options: WorkerRoleOptions = {}): Role {
  return {
    ports: (config) => [
      // The SDK runtime is process-wide: only the first worker in a process opens the exporter.
      ...(config.metrics.temporalSdkPort && !sdkRuntimeInstalled()
        ? [{ port: config.metrics.temporalSdkPort, host: config.api.host, setting: 'TEMPORAL_SDK_METRICS_PORT' }]
        : []),
      ...(options.metricsServer && config.metrics.enabled
        ? [{ port: config.metrics.port, host: config.api.host, setting: 'METRICS_PORT' }]
        : []),
    ],
    start: (services) => startWorker(services, options),
  };
}

export async function startWorker(services: Services, options: WorkerRoleOptions = {}): Promise<RoleHandle> {
  const { config, database, blobs, channels, temporal, logger, metrics } = services;
  const stack = stopStack(logger);
  try {
    const sdkMetricsPort = config.metrics.temporalSdkPort;
    installSdkLogging(logger, {
      prometheusBindAddress: sdkMetricsPort ? `${config.api.host}:${sdkMetricsPort}` : undefined,
    });
    const providers = config.llm
      ? createLlmProviders(config.llm, {
          metrics,
          logger,
          wrapClient: (provider, client) => maskedLlmClient(config, provider, client),
        })
      : undefined;
    const llm = providers?.roles;
    // The console of an API in this process reads the breakers here (api/console/screens/health.tsx).
    services.modelProviders.read = providers ? providers.status : () => [];
    stack.push(async () => {
      services.modelProviders.read = undefined;
    });
    // MCP servers are connected here and closed after the worker has stopped (the stack unwinds in reverse).
    const loadedTools = await loadTools({ config, db: database.db, temporal, metrics, logger });
    stack.push(() => loadedTools.close());
    const tools = createToolRegistry([...loadedTools.tools, ...(options.tools ?? [])]);
    const worker = await createWorker(
      {
        address: services.temporalAddress,
        namespace: config.temporal.namespace,
        taskQueue: config.temporal.taskQueue,
        tuning: options.tuning,
        dataConverter: services.dataConverter,
        tls: services.temporalTls,
      },
      { config, db: database.db, blobs, channels, temporal, llm, tools, logger, metrics },
    );
    const running = worker.run();
    running.catch((error) => logger.error({ err: error }, 'worker stopped with an error'));
    stack.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
    });

    let metricsUrl: string | undefined;
    if (options.metricsServer && config.metrics.enabled) {
      const server = await startMetricsServer(metrics, {
        host: config.api.host,
        port: config.metrics.port,
        isReady: () => worker.getState() === 'RUNNING',
      });
      stack.push(() => server.stop());
      metricsUrl = `${server.url}/metrics`;
    }
    return { worker, metricsUrl, stop: stack.stop };
  } catch (error) {
    await stack.stop();
    throw error;
  }
}

/** A configured provider's client, behind PII masking when it is remote (auto) or masking is forced on. */
function maskedLlmClient(config: Config, provider: ResolvedProvider, client: LlmClient): LlmClient {
  const mask = config.piiMasking.llm === 'on' || (config.piiMasking.llm === 'auto' && provider.remote);
  return mask ? withPiiMasking(client, { reversible: config.piiMasking.reversible }) : client;
}
