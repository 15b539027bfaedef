// The two topologies a scenario can run Conduit on, each started with its own data and stopped after: the bench's
// usual API and worker processes beside a Temporal dev server, or the production topology of scripts/prod-stack.ts.
// The soak (scenario 6) samples their processes over time; the topologies scenario (7) measures both side by side.
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { type ProdStack, startProdStack } from '../../scripts/prod-stack.js';
import { type BenchContext, benchPinnedEnv, instanceEnv } from './context.js';
import { startInstance } from './instances.js';
import { childPids, findProcessByArgument, type SampledProcess } from './process-sampler.js';
import { startBenchTemporal } from './services.js';

/** What a process of the system under test does, for CPU per run by role. */
export type ProcessRole = 'API' | 'worker' | 'Temporal' | 'nginx' | 'MinIO';

export interface UnderTest {
  url: string;
  processes: Array<SampledProcess & { role: ProcessRole }>;
  /** The PostgreSQL databases whose backends do this system's work: Conduit's own, and Temporal's on PostgreSQL. */
  databases: { conduit: string[]; temporal: string[] };
  /** The Temporal server's Prometheus endpoint (persistence requests). */
  temporalMetricsUrl?: string;
  /** Stops the worker processes: runs started afterwards are only recorded (scenario 1's ingress shape). */
  stopWorkers(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The bench's usual shape (docs/benchmarks.md): a Temporal dev server, an API-only and a worker-only process.
 * `label` names the task queue and the process logs (one system per label and invocation).
 */
export async function startDev(
  ctx: BenchContext,
  dir: string,
  settings: Record<string, string>,
  label = 'soak',
): Promise<UnderTest> {
  const temporal = await startBenchTemporal(ctx.projectRoot, dir, ctx.progress, ctx.devServerArgs);
  const taskQueue = `bench-${label}-${ctx.runTag}`;
  const env = async (name: string) => instanceEnv(ctx, temporal.address, taskQueue, `${dir}/${name}`, settings);
  const api = await startInstance(ctx, `${label}-api`, { worker: false, api: true }, await env('api'), dir);
  const worker = await startInstance(ctx, `${label}-worker`, { worker: true, api: false }, await env('worker'), dir);
  return {
    url: api.apiUrl!,
    processes: [
      { name: 'API', role: 'API', pid: api.pid, metricsUrl: api.metricsUrl },
      { name: 'worker', role: 'worker', pid: worker.pid, metricsUrl: worker.metricsUrl },
      { name: 'Temporal dev server', role: 'Temporal', pid: temporal.pid, metricsUrl: temporal.metricsUrl },
    ],
    databases: { conduit: [new URL(ctx.databaseUrl).pathname.slice(1)], temporal: [] },
    temporalMetricsUrl: temporal.metricsUrl,
    stopWorkers: () => worker.stop(),
    async stop() {
      await worker.stop();
      await api.stop();
      await temporal.stop();
    },
  };
}

/**
 * scripts/prod-stack.ts with its own databases: the Temporal server on PostgreSQL, MinIO, two API processes
 * behind nginx and two workers, configured as the bench configures its instances (instanceEnv). `label` goes into
 * the database names (lowercase letters, digits, _).
 */
export async function startProduction(
  ctx: BenchContext,
  dir: string,
  settings: Record<string, string>,
  label = 'soak',
): Promise<UnderTest> {
  const stackDir = await mkdtemp(join(dir, 'stack-'));
  const prefix = `conduit_${label}_${ctx.runTag}`;
  const stack: ProdStack = await startProdStack({
    projectRoot: ctx.projectRoot,
    dir: stackDir,
    databasePrefix: prefix,
    env: {
      LOG_LEVEL: 'info',
      ...benchPinnedEnv(ctx),
      ...settings,
    },
    progress: (line) => ctx.progress(`prod stack: ${line}`),
  });
  const nginxWorkers = await childPids(stack.nginx.child?.pid);
  const minio = await findProcessByArgument(join(stackDir, 'minio'));
  return {
    url: stack.url,
    processes: [
      ...stack.apis.map((api) => ({
        name: api.name,
        role: 'API' as const,
        pid: api.child?.pid,
        metricsUrl: `${api.url}/metrics`,
      })),
      ...stack.workers.map((worker) => ({
        name: worker.name,
        role: 'worker' as const,
        pid: worker.child?.pid,
        metricsUrl: `${worker.url}/metrics`,
      })),
      {
        name: 'Temporal server (PostgreSQL)',
        role: 'Temporal',
        pid: stack.temporal.child?.pid,
        metricsUrl: stack.temporal.metricsUrl,
      },
      ...nginxWorkers.map((pid) => ({ name: 'nginx worker', role: 'nginx' as const, pid })),
      { name: 'MinIO', role: 'MinIO', pid: minio },
    ],
    databases: { conduit: [prefix], temporal: [`${prefix}_temporal`, `${prefix}_temporal_visibility`] },
    temporalMetricsUrl: stack.temporal.metricsUrl,
    async stopWorkers() {
      await Promise.all(stack.workers.map((worker) => worker.stop()));
    },
    async stop() {
      await stack.stop();
      await stack.dropDatabases();
    },
  };
}
