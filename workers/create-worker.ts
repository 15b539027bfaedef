// Builds the Temporal worker for Conduit's task queue: the workflow bundle plus activities wired to their
// dependencies. Tuning knobs live here so benchmarks and deployments change them in one place.
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { type ActivityDeps, createActivities } from '../activities/index.js';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface WorkerSettings {
  address: string;
  namespace: string;
  taskQueue: string;
  tuning?: Partial<
    Pick<
      WorkerOptions,
      | 'maxConcurrentActivityTaskExecutions'
      | 'maxConcurrentWorkflowTaskExecutions'
      | 'maxConcurrentLocalActivityExecutions'
      | 'maxCachedWorkflows'
      | 'shutdownGraceTime'
    >
  >;
}

export async function createWorker(settings: WorkerSettings, deps: ActivityDeps): Promise<Worker> {
  const connection = await NativeConnection.connect({ address: settings.address });
  return Worker.create({
    connection,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    workflowsPath,
    activities: createActivities(deps),
    shutdownGraceTime: '20s',
    ...settings.tuning,
  });
}
