// Scenario 3, baseline: the same six steps without Temporal, in this process: the activity functions from
// createActivities(deps) called in the workflow's order, each inside a MockActivityEnvironment (activities read
// the workflow id from their Context), against the same database, fake LLM and callback receiver, offered the
// same load as e2e's default variant. The durable/in-process ratios are computed in the report.

import { Client, Connection } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities/index.js';
import { createChannelAdapters } from '../../channels/create-adapters.js';
import { createCustomAdapter } from '../../channels/custom/adapter.js';
import { createMetrics } from '../../core/metrics.js';
import { openDatabase } from '../../db/client.js';
import { createLlmRoles } from '../../llm/roles.js';
import { appendAssistantTurn, appendToolResult, nextLoopAction } from '../../llm/tool-loop.js';
import type { ChatMessage } from '../../llm/types.js';
import { createLogger } from '../../pii/logger.js';
import { loadConfig } from '../../platform/config.js';
import { messageWorkflowId } from '../../runs/contract.js';
import { openBlobStore } from '../../storage/open-blob-store.js';
import { loadTools } from '../../tools/load.js';
import { createToolRegistry } from '../../tools/registry.js';
import {
  type BenchContext,
  databaseCommits,
  instanceEnv,
  postgresCpuMs,
  signedMessage,
  tempDir,
} from '../support/context.js';
import { insidePerRunMs, offer, type Throughput, throughput } from '../support/pipeline-load.js';
import { parseMetrics } from '../support/services.js';
import { type Summary, summarize } from '../support/stats.js';
import { LATENCY_RATE } from './e2e.js';

export interface BaselinePhase {
  rate: number;
  offered: number;
  completed: number;
  failed: number;
  reply: Summary;
  overhead: Summary;
  inside: ReturnType<typeof insidePerRunMs>;
}

export interface BaselineResult {
  /** Steady load at the rates the durable default variant was measured at (10 and 20 msg/s). */
  steady: BaselinePhase[];
  saturation: Throughput & {
    offerRate: number;
    failed: number;
    benchCpuMsPerRun: number;
    postgresCpuMsPerRun: number;
    dbCommitsPerRun: number;
  };
  firstError?: string;
}

export async function baseline(ctx: BenchContext): Promise<BaselineResult> {
  const dir = await tempDir(ctx, 'baseline');
  // The same settings the durable processes get; the Temporal address is never dialled (the client is lazy).
  const config = loadConfig(await instanceEnv(ctx, '127.0.0.1:1', 'unused', dir, { LOG_LEVEL: 'warn' }));
  const logger = createLogger(config.logLevel);
  const metrics = createMetrics();
  const database = await openDatabase(config.database);
  const blobs = await openBlobStore(config.blobs);
  const connection = Connection.lazy({ address: '127.0.0.1:1' });
  const temporal = new Client({ connection });
  const loaded = await loadTools({ config, db: database.db, temporal, metrics, logger });
  const channels = createChannelAdapters(config.channels, { fetch: globalThis.fetch, now: () => new Date() });
  const activities = createActivities({
    config,
    db: database.db,
    blobs,
    channels,
    temporal,
    llm: createLlmRoles(config.llm!, { metrics, logger }),
    tools: createToolRegistry(loaded.tools),
    logger,
    metrics,
  });
  const adapter = createCustomAdapter(
    { secrets: [ctx.secret], callbackAllowedHosts: ['127.0.0.1'] },
    { fetch: globalThis.fetch, now: () => new Date() },
  );
  let firstError: string | undefined;

  /** handleMessage's six steps in its order, minus Temporal; "ack" here is the whole run. */
  const runInProcess = async (messageId: string) => {
    const { body, headers } = signedMessage(ctx, messageId);
    try {
      const outcome = await adapter.receive({ headers, body, receivedAt: new Date() });
      if (outcome.kind !== 'message') throw new Error(`unexpected ${outcome.kind}`);
      const message = outcome.message;
      const workflowId = messageWorkflowId(message.channel, message.messageId);
      const env = new MockActivityEnvironment({
        workflowExecution: { workflowId, runId: 'in-process' },
        workflowType: 'handleMessage',
      });
      const step = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A) =>
        env.run(fn as (...args: unknown[]) => Promise<R>, ...args) as Promise<R>;
      const admission = await step(activities.admitRun, { workflowId, message, runStartedAtMs: Date.now() });
      if (!admission.allowed) throw new Error(`refused: ${admission.reason}`);
      const { context } = admission;
      const intent = await step(activities.classifyIntent, { text: context.text });
      let messages: ChatMessage[] = [...context.history, { role: 'user', content: context.text }];
      let text = '';
      for (;;) {
        const planned = await step(activities.planNextStep, { workflowId, messages });
        messages = appendAssistantTurn(messages, planned.assistant);
        const action = nextLoopAction({ messages }, context.settings.maxToolSteps);
        if (action.kind !== 'call_tools') {
          text = action.text;
          break;
        }
        for (const call of action.calls) {
          const result = await step(activities.runTool, {
            workflowId,
            callId: call.id,
            name: call.name,
            arguments: call.arguments,
          });
          messages = appendToolResult(messages, call.id, call.name, result);
        }
      }
      await step(activities.replyAndFinish, {
        key: `${workflowId}:final`,
        workflowId,
        kind: 'final',
        target: message.replyTarget,
        reply: { text, format: 'markdown' },
        conversationId: context.conversationId,
        outcome: 'replied',
        intent: { ...intent, source: 'llm' },
      });
    } catch (error) {
      firstError ??= error instanceof Error ? error.message : String(error);
      throw error;
    }
  };

  try {
    const prefix = `base-${ctx.runTag}`;
    await offer(ctx, { prefix: `${prefix}-warm`, rate: 10, count: ctx.quick ? 10 : 40, send: runInProcess });

    const steady: BaselinePhase[] = [];
    for (const rate of [LATENCY_RATE, 20]) {
      const before = parseMetrics(await metrics.registry.metrics());
      const phase = await offer(ctx, {
        prefix: `${prefix}-r${rate}`,
        rate,
        count: rate * (ctx.quick ? 3 : 10),
        send: runInProcess,
      });
      const inside = insidePerRunMs(
        parseMetrics(await metrics.registry.metrics()),
        before,
        Math.max(1, phase.replyTimes.length),
      );
      steady.push({
        rate,
        offered: phase.ids.length,
        completed: phase.replyTimes.length,
        failed: phase.ackErrors,
        reply: summarize(phase.replyLatencies),
        overhead: summarize(phase.replyLatencies.map((latency) => latency - inside.insideMsPerRun)),
        inside,
      });
    }

    const count = ctx.quick ? 100 : 500;
    const offerRate = ctx.quick ? 200 : 500;
    const commitsBefore = await databaseCommits(ctx);
    const cpuBefore = process.cpuUsage();
    const postgresBefore = await postgresCpuMs();
    const burst = await offer(ctx, { prefix: `${prefix}-sat`, rate: offerRate, count, send: runInProcess });
    const cpu = process.cpuUsage(cpuBefore);
    const postgresUsed = (await postgresCpuMs()) - postgresBefore;
    const commits = (await databaseCommits(ctx)) - commitsBefore;
    return {
      steady,
      saturation: {
        ...throughput(burst),
        offerRate,
        failed: burst.ackErrors,
        benchCpuMsPerRun: (cpu.user + cpu.system) / 1000 / Math.max(1, burst.replyTimes.length),
        postgresCpuMsPerRun: postgresUsed / Math.max(1, burst.replyTimes.length),
        dbCommitsPerRun: commits / Math.max(1, burst.replyTimes.length),
      },
      firstError,
    };
  } finally {
    await loaded.close();
    await connection.close().catch(() => undefined);
    await database.close();
  }
}
