// Scenario 4, waiting: many runs parked on durable timers at once (reminder workflows, as /remind creates
// them), all due at the same instant. Measured: worker and dev-server memory (VmRSS of each process) with the
// runs parked, and how long it takes from the due instant until every reminder has been delivered to the
// callback receiver. The worker runs as its own process with default tuning.
import type { Client } from '@temporalio/client';
import type { InboundMessage } from '../../core/message.js';
import { openDatabase } from '../../db/client.js';
import { jobs } from '../../db/schema.js';
import { reminderWorkflowId } from '../../runs/contract.js';
import { type BenchContext, benchClient, cpuMs, instanceEnv, tempDir } from '../support/context.js';
import { startInstance } from '../support/instances.js';
import { readRss, startBenchTemporal } from '../support/services.js';
import { type Summary, summarize } from '../support/stats.js';

const MiB = 2 ** 20;

export interface WaitingLevel {
  runs: number;
  /** From the first start request until every run had started. */
  startSeconds: number;
  /** From the first start until the worker had taken every run's first workflow task (parked). */
  parkSeconds: number;
  /** True when parking was not finished before the due instant (the resume figure then includes parking). */
  parkedLate: boolean;
  workerRssMiB: number;
  workerPeakRssMiB: number;
  temporalRssMiB: number;
  /** Reminder delivered (reply at the receiver) minus the due instant. */
  resume: Summary;
  allResumedSeconds: number;
  delivered: number;
  duplicates: number;
  workerRssAfterMiB: number;
  /** CPU seconds used while parking and while resuming, by process. */
  cpuSeconds: { parkWorker?: number; parkTemporal?: number; resumeWorker?: number; resumeTemporal?: number };
}

export interface WaitingResult {
  idle: { workerRssMiB: number; temporalRssMiB: number };
  levels: WaitingLevel[];
  workerStartPlatformMs: number;
}

export async function waiting(ctx: BenchContext): Promise<WaitingResult> {
  const dir = await tempDir(ctx, 'waiting');
  const temporal = await startBenchTemporal(ctx.projectRoot, dir, ctx.progress);
  const taskQueue = `bench-waiting-${ctx.runTag}`;
  const worker = await startInstance(
    ctx,
    'waiting-worker',
    { worker: true, api: false, tuning: ctx.waitingTuning },
    await instanceEnv(ctx, temporal.address, taskQueue, `${dir}/worker`),
    dir,
  );
  const { client, close } = await benchClient(ctx, temporal.address);
  const database = await openDatabase({ kind: 'postgres', url: ctx.databaseUrl }, { migrate: false });
  try {
    const rss = async (pid: number | undefined) => ((await readRss(pid))?.rss ?? Number.NaN) / MiB;
    const idle = { workerRssMiB: await rss(worker.pid), temporalRssMiB: await rss(temporal.pid) };
    const levels: WaitingLevel[] = [];
    let parkRate: number | undefined;
    for (const runs of ctx.waitingLevels ?? (ctx.quick ? [100, 300] : [1_000, 10_000])) {
      ctx.progress(`waiting: parking ${runs} reminders`);
      const jobIds = Array.from({ length: runs }, (_, i) => `bench-${ctx.runTag}-${runs}-${i}`);
      for (let i = 0; i < jobIds.length; i += 1000) {
        await database.db.insert(jobs).values(
          jobIds.slice(i, i + 1000).map((id) => ({
            id,
            kind: 'reminder' as const,
            workflowId: reminderWorkflowId(id),
            channel: 'custom',
            conversationId: `custom:c-${id}`,
            ownerId: `u-${id}`,
            summary: 'benchmark reminder',
          })),
        );
      }
      // All due at one instant, far enough out for every run to be started and parked first: estimated from the
      // previous level's parking rate when there was one.
      const leadMs = parkRate ? (runs / parkRate) * 1150 + 5_000 : 8_000 + runs * 25;
      const cpu0 = [await cpuMs(worker.pid), await cpuMs(temporal.pid)];
      const began = performance.now();
      const dueAtMs = Date.now() + leadMs;
      const dueAtPerf = began + leadMs;
      await startAll(client, taskQueue, jobIds, dueAtMs, ctx.receiver.url);
      const started = performance.now();
      await waitUntilParked(client, jobIds.slice(-25), dueAtPerf + 60_000);
      const parked = performance.now();
      const cpu1 = [await cpuMs(worker.pid), await cpuMs(temporal.pid)];
      parkRate = runs / ((parked - began) / 1000);
      // Memory with everything parked (and settled a moment).
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const workerRss = await readRss(worker.pid);
      const temporalRss = await rss(temporal.pid);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, dueAtPerf - performance.now() - 100)));
      const cpu2 = [await cpuMs(worker.pid), await cpuMs(temporal.pid)];
      const missing = await ctx.receiver.waitFor(jobIds, DELIVERY_STALL_MS);
      const cpu3 = [await cpuMs(worker.pid), await cpuMs(temporal.pid)];
      const seconds = (to: (number | undefined)[], from: (number | undefined)[], i: number) =>
        to[i] !== undefined && from[i] !== undefined ? (to[i]! - from[i]!) / 1000 : undefined;
      const arrivals = jobIds.flatMap((id) => {
        const reply = ctx.receiver.replies.get(id);
        return reply ? [reply.at - dueAtPerf] : [];
      });
      const resume = summarize(arrivals);
      levels.push({
        runs,
        startSeconds: (started - began) / 1000,
        parkSeconds: (parked - began) / 1000,
        parkedLate: parked > dueAtPerf,
        workerRssMiB: (workerRss?.rss ?? Number.NaN) / MiB,
        workerPeakRssMiB: (workerRss?.peak ?? Number.NaN) / MiB,
        temporalRssMiB: temporalRss,
        resume,
        allResumedSeconds: resume.max / 1000,
        delivered: runs - missing.length,
        duplicates: jobIds.reduce((total, id) => total + (ctx.receiver.duplicates.get(id) ?? 0), 0),
        workerRssAfterMiB: await rss(worker.pid),
        cpuSeconds: {
          parkWorker: seconds(cpu1, cpu0, 0),
          parkTemporal: seconds(cpu1, cpu0, 1),
          resumeWorker: seconds(cpu3, cpu2, 0),
          resumeTemporal: seconds(cpu3, cpu2, 1),
        },
      });
    }
    return { idle, levels, workerStartPlatformMs: worker.startPlatformMs };
  } finally {
    await database.close();
    await close();
    await worker.stop();
    await temporal.stop();
  }
}

/** Reminders still undelivered after this long without a new delivery are counted missing. */
const DELIVERY_STALL_MS = 60_000;

/** Starts one reminder per job id, up to 64 start requests in flight. */
async function startAll(client: Client, taskQueue: string, jobIds: string[], dueAtMs: number, callbackUrl: string) {
  let next = 0;
  const startOne = async () => {
    while (next < jobIds.length) {
      const jobId = jobIds[next++]!;
      const message: InboundMessage = {
        channel: 'custom',
        messageId: jobId,
        conversationId: `c-${jobId}`,
        conversationType: 'direct',
        sender: { id: `u-${jobId}` },
        text: `/remind benchmark ${jobId}`,
        mentions: [],
        attachments: [],
        sentAt: new Date().toISOString(),
        replyTarget: {
          channel: 'custom',
          data: { message_id: jobId, conversation_id: `c-${jobId}`, callback_url: callbackUrl },
        },
      };
      await client.workflow.start('reminder', {
        workflowId: reminderWorkflowId(jobId),
        taskQueue,
        args: [{ jobId, message, text: 'benchmark reminder', dueAtMs }],
      });
    }
  };
  await Promise.all(Array.from({ length: 64 }, startOne));
}

/** Parked: the last runs started have no workflow task pending (the worker has run them up to their timer). */
async function waitUntilParked(client: Client, jobIds: string[], deadline: number) {
  while (performance.now() < deadline) {
    const pending = await Promise.all(
      jobIds.map(async (id) => {
        const description = await client.workflow.getHandle(reminderWorkflowId(id)).describe();
        return description.raw.pendingWorkflowTask != null || description.historyLength < 5;
      }),
    );
    if (!pending.some(Boolean)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
