// Scenario 5, faults: six-step runs offered at a steady 10 msg/s while the worker process is SIGKILLed and a
// new one started in its place. Measured: completions per second around the kill (the dip), how long until
// throughput and the backlog recover, and that every acknowledged message got exactly one reply (the receiver
// de-duplicates by message id and counts repeats).
import { type BenchContext, instanceEnv, signedMessage, tempDir } from '../support/context.js';
import { type Instance, startInstance } from '../support/instances.js';
import { postJson } from '../support/load.js';
import { offer } from '../support/pipeline-load.js';
import { startBenchTemporal } from '../support/services.js';
import { perSecond, type Summary, summarize } from '../support/stats.js';

export interface FaultsResult {
  rate: number;
  seconds: number;
  killAtSecond: number;
  /** From SIGKILL until the new worker process reported ready. */
  restartSeconds: number;
  /** Replies per second, second 0 being the first message's due time. */
  completionsPerSecond: number[];
  /** From the kill until completions stay at the offered rate again (3 seconds in a row at >= 80 %). */
  throughputRecoverySeconds?: number;
  /** From the kill until every message sent before the kill had its reply. */
  backlogClearedSeconds?: number;
  /** Runs whose reply came more than 10 s late: they were inside an activity on the killed worker. */
  stragglers: number;
  replyLatency: Summary;
  acknowledged: number;
  replied: number;
  missing: number;
  duplicateReplies: number;
  ackErrors: number;
}

export async function faults(ctx: BenchContext): Promise<FaultsResult> {
  const dir = await tempDir(ctx, 'faults');
  const temporal = await startBenchTemporal(ctx.projectRoot, dir, ctx.progress);
  const taskQueue = `bench-faults-${ctx.runTag}`;
  const env = async (name: string) => instanceEnv(ctx, temporal.address, taskQueue, `${dir}/${name}`);
  const api = await startInstance(ctx, 'faults-api', { worker: false, api: true }, await env('api'), dir);
  const workers: Instance[] = [
    await startInstance(ctx, 'faults-worker-1', { worker: true, api: false }, await env('worker-1'), dir),
  ];
  try {
    const url = `${api.apiUrl}/webhooks/custom`;
    const send = async (messageId: string) => {
      const { body, headers } = signedMessage(ctx, messageId);
      const answer = await postJson(url, body, headers);
      if (answer.status !== 202) throw new Error(`HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
    };
    await offer(ctx, { prefix: `faults-${ctx.runTag}-warm`, rate: 10, count: 20, send, quietMs: 60_000 });

    const rate = 10;
    const seconds = ctx.quick ? 12 : 40;
    const killAtSecond = ctx.quick ? 4 : 12;
    let killedAt = Number.NaN;
    let restartSeconds = Number.NaN;
    const crash = (async () => {
      await new Promise((resolve) => setTimeout(resolve, killAtSecond * 1000));
      ctx.progress('faults: SIGKILL the worker, start another');
      killedAt = performance.now();
      await workers[0]!.kill();
      workers.push(
        await startInstance(ctx, 'faults-worker-2', { worker: true, api: false }, await env('worker-2'), dir),
      );
      restartSeconds = (performance.now() - killedAt) / 1000;
    })();
    // Runs inside an activity on the killed worker wait for that activity's start-to-close timeout (model calls:
    // LLM_TIMEOUT_MS + 5 s = 65 s by default) before Temporal retries them elsewhere: allow for it.
    const batch = await offer(ctx, {
      prefix: `faults-${ctx.runTag}`,
      rate,
      count: rate * seconds,
      send,
      quietMs: 150_000,
    });
    await crash;

    const bins = perSecond(batch.replyTimes, batch.startedAt);
    const killSecond = Math.floor((killedAt - batch.startedAt) / 1000);
    let throughputRecoverySeconds: number | undefined;
    for (let s = killSecond + 1; s + 2 < Math.min(bins.length, seconds); s++) {
      if ([0, 1, 2].every((k) => bins[s + k]! >= 0.8 * rate)) {
        throughputRecoverySeconds = s - killSecond;
        break;
      }
    }
    const sentBeforeKill = batch.ids.filter((id) => batch.dueAt.get(id)! < killedAt);
    const lastBeforeKill = Math.max(
      ...sentBeforeKill.map((id) => ctx.receiver.replies.get(id)?.at ?? Number.POSITIVE_INFINITY),
    );
    return {
      rate,
      seconds,
      killAtSecond: (killedAt - batch.startedAt) / 1000,
      restartSeconds,
      completionsPerSecond: bins,
      throughputRecoverySeconds,
      backlogClearedSeconds: Number.isFinite(lastBeforeKill) ? (lastBeforeKill - killedAt) / 1000 : undefined,
      stragglers: batch.replyLatencies.filter((latency) => latency > 10_000).length,
      replyLatency: summarize(batch.replyLatencies),
      acknowledged: batch.acked,
      replied: batch.replyTimes.length,
      missing: batch.missing.length,
      duplicateReplies: batch.duplicateReplies,
      ackErrors: batch.ackErrors,
    };
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
    await api.stop();
    await temporal.stop();
  }
}
