// The worker role of `npm start` on a thread of its own (workers/worker-thread.ts) rather than on the API's main
// thread: an acknowledgement never waits behind workflow or activity work. The main thread keeps the dev server,
// the PGlite store (on its own thread, shared through a port), /metrics (the worker thread's instruments added to
// it) and the console's view of the model providers.
import type { Worker as Thread } from 'node:worker_threads';
import type { ThreadMetrics } from '../core/metrics.js';
import { startModuleThread } from '../core/module-thread.js';
import type { ProviderStatus } from '../llm/roles.js';
import type { Role, RoleHandle, Services } from '../platform/open-services.js';
import type { WorkerRoleOptions } from './start-worker.js';
import type { WorkerThreadData, WorkerThreadMessage, WorkerThreadRequest } from './worker-thread.js';

/** How long a draining worker thread may take before it is terminated (the SDK's own shutdown grace is shorter). */
const STOP_TIMEOUT_MS = 60_000;

export function workerThreadRole(options: Pick<WorkerRoleOptions, 'tuning'> = {}): Role {
  return {
    ports: (config) =>
      config.metrics.temporalSdkPort
        ? [{ port: config.metrics.temporalSdkPort, host: config.api.host, setting: 'TEMPORAL_SDK_METRICS_PORT' }]
        : [],
    start: (services) => startWorkerThread(services, options),
  };
}

async function startWorkerThread(services: Services, options: Pick<WorkerRoleOptions, 'tuning'>): Promise<RoleHandle> {
  const { logger } = services;
  const databasePort = services.database.share?.();
  const data: WorkerThreadData = { temporalAddress: services.temporalAddress, databasePort, tuning: options.tuning };
  const thread: Thread = startModuleThread(new URL('./worker-thread.ts', import.meta.url), {
    workerData: data,
    transferList: databasePort ? [databasePort] : [],
  });
  let stopping = false;
  const exited = new Promise<number>((resolve) => thread.once('exit', resolve));
  thread.on('error', (error) => logger.error({ err: error }, 'worker thread failed'));
  void exited.then((code) => {
    if (!stopping) logger.error({ code }, 'worker thread exited: this process runs no worker any more');
  });
  const send = (request: WorkerThreadRequest) => thread.postMessage(request);

  let providers: ProviderStatus[] = [];
  const metricsWaiting = new Map<number, (value: unknown) => void>();
  let nextId = 1;
  const listen = (message: WorkerThreadMessage) => {
    if (message.type === 'providers') providers = (message.value as ProviderStatus[] | undefined) ?? [];
    if (message.type === 'metrics') {
      metricsWaiting.get(message.id)?.(message.value);
      metricsWaiting.delete(message.id);
    }
  };
  thread.on('message', listen);
  try {
    await new Promise<void>((resolve, reject) => {
      thread.on('message', (message: WorkerThreadMessage) => {
        if (message.type === 'ready') resolve();
        if (message.type === 'failed') reject(new Error(message.message));
      });
      void exited.then((code) => reject(new Error(`the worker thread exited (${code}) while starting`)));
    });
  } catch (error) {
    stopping = true;
    await thread.terminate();
    throw error;
  }

  const readMetrics: ThreadMetrics = () =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        metricsWaiting.delete(id);
        reject(new Error('the worker thread did not answer for its metrics'));
      }, 5000);
      metricsWaiting.set(id, (value) => {
        clearTimeout(timer);
        resolve(value as Awaited<ReturnType<ThreadMetrics>>);
      });
      send({ type: 'metrics', id });
    });
  const removeMetrics = services.metrics.addThread(readMetrics);
  services.modelProviders.read = () => providers;

  return {
    async stop() {
      if (stopping) return;
      stopping = true;
      services.modelProviders.read = undefined;
      removeMetrics();
      send({ type: 'stop' });
      const timer = setTimeout(() => {
        logger.warn({ timeoutMs: STOP_TIMEOUT_MS }, 'worker thread did not stop in time: terminating it');
        void thread.terminate();
      }, STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
