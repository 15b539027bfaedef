// Offers six-step messages (open loop) and collects, per message, its acknowledgement and the arrival of its
// reply at the callback receiver; plus the measurements both the durable and the in-process runs share:
// time spent inside the fake LLM and the tool (from the worker's metrics), history events and persistence
// requests per run (from Temporal).
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { messageWorkflowId } from '../../runs/contract.js';
import type { BenchContext } from './context.js';
import { openLoop } from './load.js';
import { delta } from './services.js';
import { type Summary, steadyThroughput, summarize } from './stats.js';

export interface Batch {
  ids: string[];
  dueAt: Map<string, number>;
  startedAt: number;
  acked: number;
  /** The ids the door acknowledged (202), in offer order. */
  ackedIds: string[];
  ackErrors: number;
  firstError?: string;
  ackLatency: Summary;
  /** Reply arrival minus due time, for every message whose reply arrived. */
  replyLatencies: number[];
  replyTimes: number[];
  missing: string[];
  duplicateReplies: number;
}

export async function offer(
  ctx: BenchContext,
  options: {
    prefix: string;
    rate: number;
    count: number;
    send: (messageId: string) => Promise<unknown>;
    /** Replies still missing once this long passed without any arriving are counted missing (default 120 s). */
    quietMs?: number;
  },
): Promise<Batch> {
  const ids = Array.from({ length: options.count }, (_, i) => `${options.prefix}-${i}`);
  const { outcomes, startedAt } = await openLoop({
    ratePerSecond: options.rate,
    count: options.count,
    send: (i) => options.send(ids[i]!),
  });
  const dueAt = new Map(outcomes.map((o) => [ids[o.index]!, o.dueAt]));
  const acked = outcomes.filter((o) => o.ok);
  const missing = await ctx.receiver.waitFor(
    acked.map((o) => ids[o.index]!),
    options.quietMs ?? 120_000,
  );
  const replyTimes: number[] = [];
  const replyLatencies: number[] = [];
  let duplicateReplies = 0;
  for (const id of ids) {
    const reply = ctx.receiver.replies.get(id);
    duplicateReplies += ctx.receiver.duplicates.get(id) ?? 0;
    if (!reply) continue;
    replyTimes.push(reply.at);
    replyLatencies.push(reply.at - dueAt.get(id)!);
  }
  return {
    ids,
    dueAt,
    startedAt,
    acked: acked.length,
    ackedIds: acked.map((o) => ids[o.index]!),
    ackErrors: outcomes.length - acked.length,
    firstError: outcomes.find((o) => !o.ok)?.error,
    ackLatency: summarize(acked.map((o) => o.latencyMs)),
    replyLatencies,
    replyTimes,
    missing,
    duplicateReplies,
  };
}

/** What every steady-rate phase of the pipeline scenarios measures (e2e and topologies add their own figures). */
export interface ReplyPhase {
  rate: number;
  offered: number;
  completed: number;
  missing: number;
  duplicateReplies: number;
  ackErrors: number;
  ack: Summary;
  reply: Summary;
  /** Reply latency minus the time spent inside the fake model and the tool (per-run mean from the histograms). */
  overhead: Summary;
}

/** A steady phase's common figures from its batch; `insideMsPerRun` is the time inside the fake model and tool. */
export function replyPhase(rate: number, batch: Batch, insideMsPerRun: number): ReplyPhase {
  return {
    rate,
    offered: batch.ids.length,
    completed: batch.replyTimes.length,
    missing: batch.missing.length,
    duplicateReplies: batch.duplicateReplies,
    ackErrors: batch.ackErrors,
    ack: batch.ackLatency,
    reply: summarize(batch.replyLatencies),
    overhead: summarize(batch.replyLatencies.map((latency) => latency - insideMsPerRun)),
  };
}

export interface Throughput {
  offered: number;
  completed: number;
  /** Completions per second between the 10th and 90th percentile completion. */
  steadyPerSecond: number;
  /** Completions divided by the time from the first due message to the last reply. */
  overallPerSecond: number;
  replyLatency: Summary;
}

export function throughput(batch: Batch): Throughput {
  const last = Math.max(...batch.replyTimes);
  return {
    offered: batch.ids.length,
    completed: batch.replyTimes.length,
    steadyPerSecond: steadyThroughput(batch.replyTimes),
    overallPerSecond: batch.replyTimes.length / ((last - batch.startedAt) / 1000),
    replyLatency: summarize(batch.replyLatencies),
  };
}

/** Seconds spent inside the model and the tool per run, from the worker's histograms over a phase. */
export function insidePerRunMs(after: Map<string, number>, before: Map<string, number>, runs: number) {
  const llmSum = delta(after, before, 'conduit_llm_call_duration_seconds_sum');
  const llmCount = delta(after, before, 'conduit_llm_call_duration_seconds_count');
  const toolSum = delta(after, before, 'conduit_tool_call_duration_seconds_sum');
  const toolCount = delta(after, before, 'conduit_tool_call_duration_seconds_count');
  // Wall time inside each activity function (local ones included), from the worker's activity interceptor.
  const stepMsPerRun: Record<string, number> = {};
  for (const key of after.keys()) {
    const step = /^conduit_pipeline_step_duration_seconds_sum\{step=(\w+)\}$/.exec(key)?.[1];
    if (step) stepMsPerRun[step] = (delta(after, before, key) / runs) * 1000;
  }
  return {
    stepMsPerRun,
    activityMsPerRun: Object.values(stepMsPerRun).reduce((a, b) => a + b, 0),
    llmCallsPerRun: llmCount / runs,
    toolCallsPerRun: toolCount / runs,
    llmMsPerCall: (llmSum / Math.max(1, llmCount)) * 1000,
    toolMsPerCall: (toolSum / Math.max(1, toolCount)) * 1000,
    insideMsPerRun: ((llmSum + toolSum) / runs) * 1000,
  };
}

export interface HistoryShape {
  sampled: number;
  eventsPerRun: number;
  byType: Record<string, number>;
  /** Why workflow tasks failed and which activities timed out, summed over the sample. */
  problems: Record<string, number>;
}

/** History events per run, by type, over a sample of finished runs; with what went wrong in them. */
export async function historyShape(client: Client, messageIds: string[]): Promise<HistoryShape> {
  const { enums } = proto.temporal.api;
  const byType: Record<string, number> = {};
  const problems: Record<string, number> = {};
  const note = (key: string) => {
    problems[key] = (problems[key] ?? 0) + 1;
  };
  let total = 0;
  for (const id of messageIds) {
    const history = await client.workflow.getHandle(messageWorkflowId('custom', id)).fetchHistory();
    const activityNames = new Map<string, string>();
    for (const event of history.events ?? []) {
      const name = (enums.v1.EventType[event.eventType ?? 0] ?? 'unknown').replace(/^EVENT_TYPE_/, '');
      byType[name] = (byType[name] ?? 0) + 1;
      total += 1;
      const scheduled = event.activityTaskScheduledEventAttributes;
      if (scheduled) activityNames.set(String(event.eventId), scheduled.activityType?.name ?? '?');
      const failed = event.workflowTaskFailedEventAttributes;
      if (failed) note(`workflow task failed: ${enums.v1.WorkflowTaskFailedCause[failed.cause ?? 0] ?? failed.cause}`);
      if (event.workflowTaskTimedOutEventAttributes) note('workflow task timed out');
      const timedOut = event.activityTaskTimedOutEventAttributes;
      if (timedOut) note(`activity timed out: ${activityNames.get(String(timedOut.scheduledEventId)) ?? '?'}`);
    }
  }
  const perRun = Object.fromEntries(
    Object.entries(byType)
      .sort((a, b) => b[1] - a[1])
      .map(([name, count]) => [name, count / messageIds.length]),
  );
  return { sampled: messageIds.length, eventsPerRun: total / messageIds.length, byType: perRun, problems };
}

const WRITE_OPERATION =
  /^(Create|Update|Append|Conflict|Set|Put|Delete|RangeDelete|Complete|RangeComplete|Upsert|Record|Save|Insert)/;

export interface PersistencePerRun {
  requests: number;
  writes: number;
  visibilityWrites: number;
  /** The write operations, per run, largest first. */
  writeOperations: Record<string, number>;
}

/** Temporal persistence requests per run over a phase, from the dev server's persistence_requests counter. */
export function persistencePerRun(
  after: Map<string, number>,
  before: Map<string, number>,
  runs: number,
): PersistencePerRun {
  const operations: Record<string, number> = {};
  let requests = 0;
  let writes = 0;
  let visibilityWrites = 0;
  for (const key of after.keys()) {
    const persistence = /^persistence_requests\{operation=(\w+)\}$/.exec(key);
    if (persistence) {
      const count = delta(after, before, key) / runs;
      requests += count;
      if (WRITE_OPERATION.test(persistence[1]!)) {
        writes += count;
        if (count >= 0.05) operations[persistence[1]!] = Math.round(count * 100) / 100;
      }
    }
    const visibility = /^visibility_persistence_requests\{operation=(\w+)\}$/.exec(key);
    if (visibility && WRITE_OPERATION.test(visibility[1]!)) visibilityWrites += delta(after, before, key) / runs;
  }
  return {
    requests,
    writes,
    visibilityWrites,
    writeOperations: Object.fromEntries(Object.entries(operations).sort((a, b) => b[1] - a[1])),
  };
}
