// The Temporal SDK runs workflow code in a node:vm context and passes vm's `timeout` on every call into it, so
// that a workflow stuck in a synchronous loop is interrupted. Node enforces that timeout with a watchdog thread
// it creates and joins on every single call (nodejs/node#47739): on this project's 2-core machines that costs
// about 80 µs of CPU and, when the machine is busy, 1 to 1.5 ms of wall time per call, against 5 to 30 µs without
// (a loop of empty calls), and a six-step run makes a few dozen such calls, one after another, on the single
// workflow thread. That serial wall time was what capped runs per second (docs/benchmarks.md).
//
// This Worker calls into the sandbox without that timeout. What replaces it is coarser: a workflow thread that
// has activations outstanding but finishes none for STUCK_AFTER_MS is taken to be stuck in a loop (Conduit's
// workflow code is its own and has no synchronous loop that waits on anything), and the process is told, so it
// can stop and be restarted by whatever supervises it; the stuck task times out on the server and runs again.
// Without the watch, a stuck thread would silently stop every workflow of this worker.

import { Worker } from '@temporalio/worker';

/** Activations outstanding and none finished for this long: the workflow thread is taken to be stuck. */
export const STUCK_AFTER_MS = 60_000;

type CreatorArgs = Parameters<(typeof Worker)['createWorkflowCreator']>;
export type WorkflowCreator = Awaited<ReturnType<(typeof Worker)['createWorkflowCreator']>>;
type Workflow = Awaited<ReturnType<WorkflowCreator['createWorkflow']>>;

export interface SandboxWatch {
  /** Called once when the workflow thread looks stuck, with how long nothing finished. */
  onStuck(stalledMs: number): void;
  /** How often the watch looks (tests shorten it with the threshold). */
  checkEveryMs?: number;
  stuckAfterMs?: number;
}

/** Counts activations in flight and when one last finished; the verdict is read by a timer in the main thread. */
export function activationWatch(now: () => number = Date.now) {
  let inFlight = 0;
  let lastProgress = now();
  return {
    started() {
      if (inFlight === 0) lastProgress = now();
      inFlight += 1;
    },
    finished() {
      inFlight -= 1;
      lastProgress = now();
    },
    /** Milliseconds since progress while activations wait, or 0 when idle or moving. */
    stalledMs() {
      return inFlight > 0 ? now() - lastProgress : 0;
    },
  };
}

function watched(workflow: Workflow, watch: ReturnType<typeof activationWatch>): Workflow {
  return {
    async activate(activation) {
      watch.started();
      try {
        return await workflow.activate(activation);
      } finally {
        watch.finished();
      }
    },
    getAndResetSinkCalls: () => workflow.getAndResetSinkCalls(),
    dispose: () => workflow.dispose(),
  };
}

/** `creator` with its workflows' activations watched: `onStuck` once no activation finished for `stuckAfterMs`. */
export function watchedCreator(creator: WorkflowCreator, sandbox: SandboxWatch): WorkflowCreator {
  const watch = activationWatch();
  const stuckAfterMs = sandbox.stuckAfterMs ?? STUCK_AFTER_MS;
  let told = false;
  const timer = setInterval(() => {
    const stalled = watch.stalledMs();
    if (stalled < stuckAfterMs || told) return;
    told = true;
    sandbox.onStuck(stalled);
  }, sandbox.checkEveryMs ?? 5_000);
  timer.unref();
  return {
    createWorkflow: async (options) => watched(await creator.createWorkflow(options), watch),
    destroy: async () => {
      clearInterval(timer);
      await creator.destroy();
    },
  };
}

/** Makes a Worker class whose workflow sandbox is called without vm's per-call timeout, under `sandbox`'s watch. */
export function workerWithoutCallTimeout(sandbox: SandboxWatch): typeof Worker {
  return class WorkerWithoutCallTimeout extends Worker {
    protected static override async createWorkflowCreator(
      ...[bundle, options, sdkLogger]: CreatorArgs
    ): Promise<WorkflowCreator> {
      // `undefined` reaches vm as `{ timeout: undefined }`: no watchdog thread. The option's type says number.
      const creator = await Worker.createWorkflowCreator(
        bundle,
        { ...options, isolateExecutionTimeoutMs: undefined as unknown as number },
        sdkLogger,
      );
      return watchedCreator(creator, sandbox);
    }
  };
}
