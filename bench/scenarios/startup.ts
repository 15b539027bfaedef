// Startup: how long a whole instance (embedded Temporal dev server, database migrations, worker with its
// workflow bundle, API) takes from startPlatform to ready, as `npm start` does it once the Temporal CLI is
// built; first on a fresh data directory, then restarted on the same one. The dev server alone is timed too.
import { freePort } from '../../platform/free-port.js';
import { failureConverterPath } from '../../security/keys.js';
import { prepareWorkflowBundle } from '../../workers/workflow-bundle.js';
import { type BenchContext, instanceEnv, tempDir } from '../support/context.js';
import { startInstance } from '../support/instances.js';
import { startBenchTemporal } from '../support/services.js';

export interface StartupResult {
  /** startPlatform durations (ms): fresh data directory, then a restart on it. */
  coldStartPlatformMs: number;
  restartStartPlatformMs?: number;
  /** From process start (node + tsx + module loading) to ready, fresh data directory. */
  coldProcessMs: number;
  /** The dev server alone, fresh directory, until it answers DescribeNamespace. */
  devServerMs: number;
  /** Bundling the workflow code (webpack) into an empty cache: what every worker start did before issue 12. */
  workflowBundleMs: number;
  /** Loading that bundle from the cache (key over the sources, checksum): what a worker start does now. */
  workflowBundleCachedMs: number;
}

export async function startup(ctx: BenchContext): Promise<StartupResult> {
  const dir = await tempDir(ctx, 'startup');
  const bundleOptions = { cacheDir: `${dir}/bundle-cache`, dataConverter: { failureConverterPath } };
  const workflowBundleMs = (await prepareWorkflowBundle(bundleOptions)).ms;
  const workflowBundleCachedMs = (await prepareWorkflowBundle(bundleOptions)).ms;

  const devServer = await startBenchTemporal(ctx.projectRoot, `${dir}/alone`, ctx.progress);
  await devServer.stop();

  const env = await instanceEnv(ctx, 'unused:1', 'conduit', `${dir}/instance`, {
    TEMPORAL_DEV_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
  });
  delete env.TEMPORAL_ADDRESS;
  const first = await startInstance(ctx, 'startup-cold', { worker: true, api: true }, env, dir);
  await first.stop();
  let restart: number | undefined;
  if (!ctx.quick) {
    const second = await startInstance(ctx, 'startup-restart', { worker: true, api: true }, env, dir);
    restart = second.startPlatformMs;
    await second.stop();
  }
  return {
    coldStartPlatformMs: first.startPlatformMs,
    restartStartPlatformMs: restart,
    coldProcessMs: first.processMs,
    devServerMs: devServer.startMs,
    workflowBundleMs,
    workflowBundleCachedMs,
  };
}
