// Builds the Temporal worker for Conduit's task queue: the workflow bundle plus activities wired to their
// dependencies. Tuning knobs live here so benchmarks and deployments change them in one place.
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, type TLSConfig, type Worker, type WorkerOptions } from '@temporalio/worker';
import { type ActivityDeps, createActivities } from '../activities/index.js';
import { activityTelemetry } from './activity-telemetry.js';
import { STUCK_AFTER_MS, workerWithoutCallTimeout } from './sandbox-without-call-timeout.js';
import { prepareWorkflowBundle } from './workflow-bundle.js';

export { workflowsPath } from './workflow-bundle.js';

export interface WorkerSettings {
  address: string;
  namespace: string;
  taskQueue: string;
  /** Must be the one the instance's Client uses (payload encryption, security/keys.ts). */
  dataConverter?: DataConverter;
  /** TLS/mTLS to the Temporal frontend (security/tls.ts). */
  tls?: TLSConfig;
  tuning?: Partial<
    Pick<
      WorkerOptions,
      | 'maxConcurrentActivityTaskExecutions'
      | 'maxConcurrentWorkflowTaskExecutions'
      | 'maxConcurrentLocalActivityExecutions'
      | 'maxCachedWorkflows'
      | 'shutdownGraceTime'
      | 'tuner'
    >
  >;
}

export async function createWorker(settings: WorkerSettings, deps: ActivityDeps): Promise<Worker> {
  const connection = await NativeConnection.connect({ address: settings.address, tls: settings.tls });
  // Built once per distinct workflow source and reused by every later start (workers/workflow-bundle.ts).
  const { bundle } = await prepareWorkflowBundle({
    dataConverter: settings.dataConverter,
    log: (line) => deps.logger.info(line),
  });
  // Workflow code runs without vm's per-call timeout (a thread per call; workers/sandbox-without-call-timeout.ts).
  // A workflow thread that stops making progress ends the process, for its supervisor to start it again.
  const ConduitWorker = workerWithoutCallTimeout({
    onStuck(stalledMs) {
      deps.logger.fatal(
        { stalledMs, stuckAfterMs: STUCK_AFTER_MS },
        'the workflow thread finished no workflow task in time (a workflow stuck in a loop?); exiting so the process is restarted',
      );
      process.exit(70);
    },
  });
  return ConduitWorker.create({
    connection,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    workflowBundle: bundle,
    dataConverter: settings.dataConverter,
    activities: createActivities(deps),
    interceptors: { activity: [activityTelemetry(deps)] },
    shutdownGraceTime: '20s',
    // Parked reminders and approvals gain nothing from staying cached (their histories replay in
    // milliseconds), and the SDK's default sizes the cache from the heap limit: 2,311 workflows here, about
    // 330 KiB each. 100 still holds every run in flight at saturation (about 20 runs/s of under a second each,
    // at most 40 workflow tasks at once); with 3,000 parked reminders it measured 387 MiB against 497 for 500
    // (docs/benchmarks.md, both with two malloc arenas: platform/node-process-env.ts).
    maxCachedWorkflows: 100,
    ...settings.tuning,
  });
}
