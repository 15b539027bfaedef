// The worker role on a thread of its own, started by workers/worker-thread-role.ts for `npm start`: the thread
// opens its own Temporal connection, object store and instruments, shares the main thread's Temporal frontend and
// PGlite store (through a port), and runs the Temporal Worker; so workflow and activity work never holds up the
// API's event loop. It answers the main thread's requests for its metrics and stops when told.

import { fileURLToPath } from 'node:url';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { createMetrics } from '../core/metrics.js';
import { lowerThreadPriority } from '../core/module-thread.js';
import { createLogger } from '../pii/logger.js';
import { loadConfig } from '../platform/config.js';
import { openServices } from '../platform/open-services.js';
import { startWorker, type WorkerRoleOptions } from './start-worker.js';

export interface WorkerThreadData {
  temporalAddress: string;
  databasePort?: MessagePort;
  tuning?: WorkerRoleOptions['tuning'];
}

/** Main thread → worker thread. */
export type WorkerThreadRequest = { type: 'metrics'; id: number } | { type: 'stop' };
/** Worker thread → main thread. */
export type WorkerThreadMessage =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'metrics'; id: number; value: unknown }
  | { type: 'providers'; value: unknown }
  | { type: 'stopped' };

/**
 * The worker's nice value: under CPU contention the API's thread (nice 0) goes first, so an acknowledgement waits
 * for no workflow work; with the CPU idle the worker still gets all of it. Set before anything else starts here,
 * so the SDK's native runtime threads and workflow threads, started from this thread, inherit it.
 */
const WORKER_NICE = 10;
const lowered = lowerThreadPriority(WORKER_NICE);

const control = parentPort!;
const data = workerData as WorkerThreadData;
const send = (message: WorkerThreadMessage) => control.postMessage(message);
// A worker thread starts with a copy of the main thread's environment (.env included): the same configuration.
const config = loadConfig();
const logger = createLogger(config.logLevel);
// The process-wide default metrics (CPU, memory, event loop) are the main thread's to report.
const metrics = createMetrics({ defaultMetrics: false });
try {
  const services = await openServices(config, {
    projectRoot: fileURLToPath(new URL('..', import.meta.url)),
    logger,
    progress: (line) => logger.info(line),
    metrics,
    mainThread: { temporalAddress: data.temporalAddress, databasePort: data.databasePort },
  });
  const role = await startWorker(services, { tuning: data.tuning }).catch(async (error: unknown) => {
    await services.stop();
    throw error;
  });
  // The console's health screen reads the model providers' breakers, which live in this thread's memory.
  const providers = setInterval(() => send({ type: 'providers', value: services.modelProviders.read?.() }), 1000);
  send({ type: 'providers', value: services.modelProviders.read?.() });
  control.on('message', (request: WorkerThreadRequest) => {
    if (request.type === 'metrics') {
      void metrics.registry.getMetricsAsJSON().then((value) => send({ type: 'metrics', id: request.id, value }));
      return;
    }
    clearInterval(providers);
    void role
      .stop()
      .then(() => services.stop())
      .finally(() => {
        send({ type: 'stopped' });
        process.exit(0); // ends this thread only
      });
  });
  if (!lowered) logger.info('worker thread priority not lowered (not Linux, or refused)');
  send({ type: 'ready' });
} catch (error) {
  send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
}
