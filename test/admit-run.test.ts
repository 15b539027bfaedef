// Generation 3's merged steps (activities/merged-steps.ts) against the real database: admitRun does what record,
// verify and parse did one by one, and a retried admitRun (parse failed after verify let the sender in) neither
// counts the message in the sender's rate window again nor turns it away; replyAndFinish sends once and records
// the outcome.
import { randomBytes } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMergedStepActivities } from '../activities/merged-steps.js';
import { API_CHANNEL, createApiChannelAdapter } from '../channels/api/adapter.js';
import type { InboundMessage } from '../core/message.js';
import { messages, rateWindows, replyOutbox, runEvents, runs } from '../db/schema.js';
import { createLogger } from '../pii/logger.js';
import { createToolRegistry } from '../tools/registry.js';
import { startTestPlatform, type TestPlatform } from './support/platform.js';

let platform: TestPlatform;
let steps: ReturnType<typeof createMergedStepActivities>;

beforeAll(async () => {
  // No worker: the activities are called here, one attempt at a time, as a worker would call them.
  platform = await startTestPlatform({ RATE_LIMIT_PER_USER_PER_MINUTE: '1' }, { worker: false });
  const { config, database, blobs, temporal, metrics } = platform;
  steps = createMergedStepActivities({
    config,
    db: database.db,
    blobs,
    temporal,
    metrics,
    // The api channel's adapter, as every worker has it: the reply goes to the run's event log.
    channels: new Map([[API_CHANNEL, createApiChannelAdapter()]]),
    tools: createToolRegistry([]),
    logger: createLogger('silent'),
  });
}, 60_000);
afterAll(async () => {
  await platform?.stop();
});

const unique = (prefix: string) => `${prefix}-${randomBytes(5).toString('hex')}`;

function inbound(sender: string): InboundMessage {
  return {
    channel: 'api',
    messageId: unique('m'),
    conversationId: unique('c'),
    conversationType: 'direct',
    sender: { id: sender },
    text: '  hello there  ',
    mentions: [],
    attachments: [],
    sentAt: new Date().toISOString(),
    replyTarget: { channel: 'api', data: {} },
  };
}

/** Runs one attempt of an activity as the worker would, with the run's id and the attempt number in its Context. */
const attempt = <A, R>(fn: (input: A) => Promise<R>, workflowId: string, number: number, input: A): Promise<R> =>
  new MockActivityEnvironment({ attempt: number, workflowExecution: { workflowId, runId: 'r' } }).run(fn, input);

const userWindow = async (sender: string) =>
  (
    await platform.database.db
      .select({ count: rateWindows.count })
      .from(rateWindows)
      .where(eq(rateWindows.key, `user:api:${sender}`))
  ).map((row) => row.count);

it('records the run, verifies the sender and reads the context back, in that order', async () => {
  const sender = unique('u');
  const message = inbound(sender);
  const workflowId = `message:api:${message.messageId}`;
  const admission = await attempt(steps.admitRun, workflowId, 1, { workflowId, message, runStartedAtMs: Date.now() });
  expect(admission).toMatchObject({ allowed: true, context: { text: 'hello there', history: [] } });
  const [run] = await platform.database.db.select().from(runs).where(eq(runs.workflowId, workflowId));
  expect(run).toMatchObject({ status: 'running', senderId: sender });
  const events = await platform.database.db.select().from(runEvents).where(eq(runEvents.workflowId, workflowId));
  expect(events.map((event) => event.data)).toEqual([{ step: 'verify' }, { step: 'parse' }]);
  expect(await userWindow(sender)).toEqual([1]);
});

it('a retried admission counts the message once and still lets it in (the limit here is 1 a minute)', async () => {
  const sender = unique('u');
  const message = inbound(sender);
  const workflowId = `message:api:${message.messageId}`;
  const input = { workflowId, message, runStartedAtMs: Date.now() };
  const first = await attempt(steps.admitRun, workflowId, 1, input);
  // The worker died, or parse failed after verify: the same activity again, as attempt 2 and 3.
  const second = await attempt(steps.admitRun, workflowId, 2, input);
  const third = await attempt(steps.admitRun, workflowId, 3, input);
  expect(second).toEqual(first);
  expect(third).toEqual(first);
  expect(await userWindow(sender)).toEqual([1]);
  const recorded = await platform.database.db
    .select()
    .from(messages)
    .where(and(eq(messages.workflowId, workflowId), eq(messages.direction, 'in')));
  expect(recorded).toHaveLength(1);

  // A second message from the same sender in the same minute is its own run: counted, and over the limit.
  const other = inbound(sender);
  const otherId = `message:api:${other.messageId}`;
  const refused = await attempt(steps.admitRun, otherId, 1, {
    workflowId: otherId,
    message: other,
    runStartedAtMs: Date.now(),
  });
  expect(refused).toMatchObject({ allowed: false, reason: 'rate_limited' });
  expect(await userWindow(sender)).toEqual([2]);
  // Refused before parse: the run has its row, and no transcript entry.
  const [run] = await platform.database.db.select().from(runs).where(eq(runs.workflowId, otherId));
  expect(run?.status).toBe('running');
  expect(await platform.database.db.select().from(messages).where(eq(messages.workflowId, otherId))).toEqual([]);
});

it('replyAndFinish sends the reply once and records the outcome, also when retried', async () => {
  const sender = unique('u');
  const message = inbound(sender);
  const workflowId = `message:api:${message.messageId}`;
  const admission = await attempt(steps.admitRun, workflowId, 1, { workflowId, message, runStartedAtMs: Date.now() });
  if (!admission.allowed) throw new Error('the sender was refused');
  const input = {
    key: `${workflowId}:final`,
    workflowId,
    kind: 'final' as const,
    target: message.replyTarget,
    reply: { text: 'hi', format: 'markdown' as const },
    conversationId: admission.context.conversationId,
    outcome: 'replied' as const,
    intent: { name: 'chat', confidence: 0.9, source: 'llm' as const },
  };
  expect(await attempt(steps.replyAndFinish, workflowId, 1, input)).toMatchObject({ finished: true });
  expect(await attempt(steps.replyAndFinish, workflowId, 2, input)).toMatchObject({ finished: true });
  const outbox = await platform.database.db.select().from(replyOutbox).where(eq(replyOutbox.workflowId, workflowId));
  expect(outbox).toMatchObject([{ status: 'sent', attempts: 1 }]);
  const [run] = await platform.database.db.select().from(runs).where(eq(runs.workflowId, workflowId));
  expect(run).toMatchObject({ status: 'completed', intent: 'chat' });
  const events = await platform.database.db.select().from(runEvents).where(eq(runEvents.workflowId, workflowId));
  expect(events.map((event) => event.type)).toEqual(['step', 'step', 'reply']);
});
