// Scenario 1, ingress: signed custom-webhook deliveries at fixed rates against an API-only process (no worker),
// so what is measured is the acknowledgement alone: verify, parse, and Temporal durably recording the start.
// Every 20th request re-sends a message from ten requests earlier; afterwards the runs are counted in Temporal
// and compared with the acknowledged ids: exactly one run per acknowledged message.
import { type BenchContext, benchClient, cpuMs, instanceEnv, signedMessage, tempDir } from '../support/context.js';
import { startInstance } from '../support/instances.js';
import { openLoop, postJson } from '../support/load.js';
import { startBenchTemporal } from '../support/services.js';
import { type Summary, summarize } from '../support/stats.js';

export interface IngressLevel {
  rate: number;
  sent: number;
  ok: number;
  errors: number;
  duplicatesSent: number;
  /** Ack latency of every request (first deliveries and duplicates), from its due time. */
  latency: Summary;
  duplicateLatency: Summary;
  achievedRate: number;
  apiCpuMsPerMessage?: number;
  temporalCpuMsPerMessage?: number;
  firstError?: string;
}

export interface IngressResult {
  seconds: number;
  levels: IngressLevel[];
  /** The first offered rate whose p99 exceeded 100 ms, and the one before it. */
  p99Crosses100ms?: { below?: number; above: number };
  runs: {
    acknowledgedIds: number;
    runsFound: number;
    acknowledgedWithoutRun: number;
    idsWithMoreThanOneRun: number;
    runsNotAcknowledged: number;
    nonDuplicateAcksPerId: { exactlyOne: number; other: number };
    countQuery: string;
  };
  apiStartPlatformMs: number;
}

export async function ingress(ctx: BenchContext): Promise<IngressResult> {
  const dir = await tempDir(ctx, 'ingress');
  const temporal = await startBenchTemporal(ctx.projectRoot, dir, ctx.progress);
  const taskQueue = `bench-ingress-${ctx.runTag}`;
  const api = await startInstance(
    ctx,
    'ingress-api',
    { worker: false, api: true },
    await instanceEnv(ctx, temporal.address, taskQueue, `${dir}/api`),
    dir,
  );
  const { client, close } = await benchClient(ctx, temporal.address);
  try {
    const url = `${api.apiUrl}/webhooks/custom`;
    const rates = ctx.quick ? [25, 50] : [50, 100, 200, 400, 800];
    const seconds = ctx.quick ? 2 : 8;
    const prefix = `ing-${ctx.runTag}-`;
    type Ack = { workflowId: string; duplicate: boolean; resent: boolean };
    const send = async (messageId: string, resent: boolean): Promise<Ack> => {
      const { body, headers } = signedMessage(ctx, messageId, { callback: false });
      const answer = await postJson(url, body, headers);
      if (answer.status !== 202 && answer.status !== 200) {
        throw new Error(`HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
      }
      const parsed = JSON.parse(answer.body) as { workflowId: string; duplicate: boolean };
      return { workflowId: parsed.workflowId, duplicate: parsed.duplicate, resent };
    };

    // Warm-up (JIT, connection pools), not measured.
    await openLoop({ ratePerSecond: 50, count: 50, send: (i) => send(`ingress-warm-${ctx.runTag}-${i}`, false) });

    const levels: IngressLevel[] = [];
    const acks: Ack[] = [];
    for (const rate of rates) {
      ctx.progress(`ingress: ${rate} msg/s for ${seconds} s`);
      const count = rate * seconds;
      const [apiCpu0, temporalCpu0] = [await cpuMs(api.pid), await cpuMs(temporal.pid)];
      const { outcomes, startedAt } = await openLoop({
        ratePerSecond: rate,
        count,
        send: (i) => {
          const resent = i % 20 === 19;
          return send(`${prefix}${rate}-${resent ? i - 10 : i}`, resent);
        },
      });
      const [apiCpu1, temporalCpu1] = [await cpuMs(api.pid), await cpuMs(temporal.pid)];
      const ok = outcomes.filter((o) => o.ok);
      for (const o of ok) acks.push(o.value!);
      const lastDone = Math.max(...outcomes.map((o) => o.doneAt));
      levels.push({
        rate,
        sent: count,
        ok: ok.length,
        errors: outcomes.length - ok.length,
        duplicatesSent: outcomes.filter((o) => o.index % 20 === 19).length,
        latency: summarize(outcomes.map((o) => o.latencyMs)),
        duplicateLatency: summarize(outcomes.filter((o) => o.index % 20 === 19).map((o) => o.latencyMs)),
        achievedRate: ok.length / ((lastDone - startedAt) / 1000),
        apiCpuMsPerMessage: apiCpu0 !== undefined && apiCpu1 !== undefined ? (apiCpu1 - apiCpu0) / count : undefined,
        temporalCpuMsPerMessage:
          temporalCpu0 !== undefined && temporalCpu1 !== undefined ? (temporalCpu1 - temporalCpu0) / count : undefined,
        firstError: outcomes.find((o) => !o.ok)?.error,
      });
      // Let the server settle between levels so one level's backlog does not spill into the next.
      await new Promise((resolve) => setTimeout(resolve, ctx.quick ? 200 : 1500));
    }

    // Exactly one run per acknowledged message, none for the rest.
    const acknowledged = new Set(acks.map((ack) => ack.workflowId));
    const nonDuplicateAcks = new Map<string, number>();
    for (const ack of acks) {
      if (!ack.duplicate) nonDuplicateAcks.set(ack.workflowId, (nonDuplicateAcks.get(ack.workflowId) ?? 0) + 1);
    }
    const countQuery = `TaskQueue = "${taskQueue}" AND WorkflowId STARTS_WITH "message:custom:${prefix}" AND WorkflowType = "handleMessage"`;
    const expected = acknowledged.size;
    const deadline = Date.now() + 60_000;
    let counted = 0;
    while (Date.now() < deadline) {
      counted = (await client.workflow.count(countQuery)).count;
      if (counted >= expected) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const executions = new Map<string, number>();
    for await (const execution of client.workflow.list({ query: countQuery })) {
      executions.set(execution.workflowId, (executions.get(execution.workflowId) ?? 0) + 1);
    }
    const measuredIds = [...acknowledged];
    const crossing = levels.findIndex((level) => level.latency.p99 > 100);
    return {
      seconds,
      levels,
      p99Crosses100ms:
        crossing < 0
          ? undefined
          : { below: crossing > 0 ? levels[crossing - 1]!.rate : undefined, above: levels[crossing]!.rate },
      runs: {
        acknowledgedIds: measuredIds.length,
        runsFound: [...executions.values()].reduce((a, b) => a + b, 0),
        acknowledgedWithoutRun: measuredIds.filter((id) => !executions.has(id)).length,
        idsWithMoreThanOneRun: [...executions.values()].filter((n) => n > 1).length,
        runsNotAcknowledged: [...executions.keys()].filter((id) => !acknowledged.has(id)).length,
        nonDuplicateAcksPerId: {
          exactlyOne: measuredIds.filter((id) => nonDuplicateAcks.get(id) === 1).length,
          other: measuredIds.filter((id) => nonDuplicateAcks.get(id) !== 1).length,
        },
        countQuery,
      },
      apiStartPlatformMs: api.startPlatformMs,
    };
  } finally {
    await close();
    await api.stop();
    await temporal.stop();
  }
}
