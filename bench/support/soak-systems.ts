// The systems the soak scenario runs against, each started with its own data and stopped after: the bench's usual
// API and worker processes beside a Temporal dev server, or the production topology of scripts/prod-stack.ts.
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { type ProdStack, startProdStack } from '../../scripts/prod-stack.js';
import { type BenchContext, benchPinnedEnv, instanceEnv } from './context.js';
import { startInstance } from './instances.js';
import { childPids, findProcessByArgument, type SampledProcess } from './process-sampler.js';
import { startBenchTemporal } from './services.js';

export interface UnderTest {
  url: string;
  processes: SampledProcess[];
  stop(): Promise<void>;
}

/** The bench's usual shape (docs/benchmarks.md): a Temporal dev server, an API-only and a worker-only process. */
export async function startDev(ctx: BenchContext, dir: string, settings: Record<string, string>): Promise<UnderTest> {
  const temporal = await startBenchTemporal(ctx.projectRoot, dir, ctx.progress, ctx.devServerArgs);
  const taskQueue = `bench-soak-${ctx.runTag}`;
  const env = async (name: string) => instanceEnv(ctx, temporal.address, taskQueue, `${dir}/${name}`, settings);
  const api = await startInstance(ctx, 'soak-api', { worker: false, api: true }, await env('api'), dir);
  const worker = await startInstance(ctx, 'soak-worker', { worker: true, api: false }, await env('worker'), dir);
  return {
    url: api.apiUrl!,
    processes: [
      { name: 'API', pid: api.pid, metricsUrl: api.metricsUrl },
      { name: 'worker', pid: worker.pid, metricsUrl: worker.metricsUrl },
      { name: 'Temporal dev server', pid: temporal.pid, metricsUrl: temporal.metricsUrl },
    ],
    async stop() {
      await worker.stop();
      await api.stop();
      await temporal.stop();
    },
  };
}

/**
 * scripts/prod-stack.ts with its own databases: the Temporal server on PostgreSQL, MinIO, two API processes
 * behind nginx and two workers, configured as the bench configures its instances (instanceEnv).
 */
export async function startProduction(
  ctx: BenchContext,
  dir: string,
  settings: Record<string, string>,
): Promise<UnderTest> {
  const stackDir = await mkdtemp(join(dir, 'stack-'));
  const stack: ProdStack = await startProdStack({
    projectRoot: ctx.projectRoot,
    dir: stackDir,
    databasePrefix: `conduit_soak_${ctx.runTag}`,
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
      ...stack.apis.map((api) => ({ name: api.name, pid: api.child?.pid, metricsUrl: `${api.url}/metrics` })),
      ...stack.workers.map((worker) => ({
        name: worker.name,
        pid: worker.child?.pid,
        metricsUrl: `${worker.url}/metrics`,
      })),
      { name: 'Temporal server (PostgreSQL)', pid: stack.temporal.child?.pid, metricsUrl: stack.temporal.metricsUrl },
      ...nginxWorkers.map((pid) => ({ name: 'nginx worker', pid })),
      { name: 'MinIO', pid: minio },
    ],
    async stop() {
      await stack.stop();
      await stack.dropDatabases();
    },
  };
}
