// The run steps' writes that share one statement, on both database drivers: each counts or records what it did
// before, a retried step writes nothing twice that it wrote once, and reads back what it read the first time.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runEventCte } from '../activities/run-events.js';
import { loadConversationContext } from '../conversations/memory.js';
import { recordInboundMessage, recordOutboundMessage } from '../conversations/transcript.js';
import type { InboundMessage } from '../core/message.js';
import { type DatabaseHandle, openDatabase } from '../db/client.js';
import { llmUsage, memories, messages, runEvents } from '../db/schema.js';
import type { ChatResult } from '../llm/types.js';
import { recordLlmUsage } from '../llm/usage.js';
import { verifySender } from '../runs/verify-sender.js';

const handles: DatabaseHandle[] = [];
const scratch: string[] = [];
afterAll(async () => {
  for (const handle of handles) await handle.close();
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

const drivers: Record<string, () => Promise<DatabaseHandle>> = {
  postgres: () => openDatabase({ kind: 'postgres', url: inject('databaseUrl') }),
  pglite: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conduit-step-writes-'));
    scratch.push(dir);
    return openDatabase({ kind: 'pglite', dir });
  },
};

const unique = (prefix: string) => `${prefix}-${randomBytes(5).toString('hex')}`;

function inbound(conversationId: string, sender = unique('u')): InboundMessage {
  return {
    channel: 'custom',
    messageId: unique('m'),
    conversationId,
    conversationType: 'direct',
    sender: { id: sender, name: 'Ann' },
    text: 'hello',
    mentions: [],
    attachments: [],
    sentAt: new Date().toISOString(),
    replyTarget: { channel: 'custom', data: {} },
  };
}

const eventsOf = (handle: DatabaseHandle, workflowId: string) =>
  handle.db.select().from(runEvents).where(eq(runEvents.workflowId, workflowId));

describe.each(Object.keys(drivers))('on the %s database', (driver) => {
  let handle: DatabaseHandle;
  const db = () => handle.db;
  beforeAll(async () => {
    handle = await drivers[driver]!();
    handles.push(handle);
  });

  it('counts the sender and the conversation in their own windows, and refuses past either limit', async () => {
    const rules = { allowUsers: [], denyUsers: [], rateLimitPerUserPerMinute: 3, rateLimitPerConversationPerMinute: 2 };
    const conversation = unique('c');
    const verdicts = [];
    // Two senders in one conversation: the conversation's limit binds first, and for both of them.
    for (const sender of ['ann', 'bob', 'ann']) {
      verdicts.push(
        await verifySender({ db: db(), rules }, { message: inbound(conversation, `${sender}-${conversation}`) }),
      );
    }
    expect(verdicts.map((verdict) => verdict.allowed)).toEqual([true, true, false]);
    // One sender across conversations: the sender's limit binds (3 allowed, the fourth refused).
    const sender = unique('u');
    const spread = [];
    for (let i = 0; i < 4; i += 1)
      spread.push(await verifySender({ db: db(), rules }, { message: inbound(unique('c'), sender) }));
    expect(spread.map((verdict) => verdict.allowed)).toEqual([true, true, true, false]);
    expect(spread[3]).toMatchObject({ reason: 'rate_limited' });
  });

  it('records an inbound message and its parse event once when the parse step runs again', async () => {
    const conversation = unique('c');
    const earlier = inbound(conversation);
    const first = await recordInboundMessage(db(), {
      workflowId: unique('wf'),
      message: earlier,
      text: 'before',
      anonymise: false,
    });
    const workflowId = unique('wf');
    const message = inbound(conversation);
    const parse = async () => {
      const recorded = await recordInboundMessage(db(), { workflowId, message, text: 'now', anonymise: false });
      const event = runEventCte('step', { step: 'parse' }, { workflowId });
      return {
        recorded,
        context: await loadConversationContext(db(), recorded.conversationId, recorded.recordedAt, 1_000, event),
      };
    };
    const attempt = await parse();
    const retry = await parse();
    expect(retry.recorded).toEqual(attempt.recorded);
    expect(attempt.recorded.conversationId).toBe(first.conversationId);
    // The history stops before the run's own message, on the retry too.
    expect(retry.context).toEqual({ history: [{ role: 'user', content: 'before' }], needsCompaction: false });
    expect(attempt.context).toEqual(retry.context);
    const rows = await db()
      .select()
      .from(messages)
      .where(eq(messages.id, `${workflowId}:in`));
    expect(rows.map((row) => row.text)).toEqual(['now']);
    expect((await eventsOf(handle, workflowId)).map((event) => event.dedupeKey)).toEqual([`${workflowId}:step:parse`]);
  });

  it('reads the summary with only the messages it does not cover', async () => {
    const conversation = unique('c');
    const old = await recordInboundMessage(db(), {
      workflowId: unique('wf'),
      message: inbound(conversation),
      text: 'old',
      anonymise: false,
    });
    // The summary covers until a moment after the old message and before the new one (milliseconds apart).
    const pause = () => new Promise((resolve) => setTimeout(resolve, 5));
    await pause();
    await db()
      .insert(memories)
      .values({
        conversationId: old.conversationId,
        key: 'summary',
        value: { text: 'They said old things.', coversUntil: new Date().toISOString() },
      });
    await pause();
    await recordInboundMessage(db(), {
      workflowId: unique('wf'),
      message: inbound(conversation),
      text: 'new',
      anonymise: false,
    });
    const now = await recordInboundMessage(db(), {
      workflowId: unique('wf'),
      message: inbound(conversation),
      text: 'now',
      anonymise: false,
    });
    const context = await loadConversationContext(db(), now.conversationId, now.recordedAt, 1_000);
    expect(context).toEqual({
      summary: 'They said old things.',
      history: [{ role: 'user', content: 'new' }],
      needsCompaction: false,
    });
  });

  it('records a sent reply in the transcript and the run log once, however often recording is retried', async () => {
    const conversation = unique('c');
    const workflowId = unique('wf');
    const { conversationId } = await recordInboundMessage(db(), {
      workflowId,
      message: inbound(conversation),
      text: 'q',
      anonymise: false,
    });
    const key = `${workflowId}:final`;
    const record = () =>
      recordOutboundMessage(
        db(),
        { id: key, conversationId, workflowId, text: 'the answer', anonymise: false },
        runEventCte('reply', { text: 'the answer', kind: 'final' }, { workflowId, dedupeSuffix: key }),
      );
    await record();
    await record();
    expect((await db().select().from(messages).where(eq(messages.id, key))).map((row) => row.text)).toEqual([
      'the answer',
    ]);
    expect((await eventsOf(handle, workflowId)).map((event) => event.type)).toEqual(['reply']);
  });

  it('keeps a row per billed model call but the step event once when a model step is retried', async () => {
    const workflowId = unique('wf');
    const call: ChatResult = {
      message: { content: 'hi', toolCalls: [] },
      usage: { promptTokens: 7, completionTokens: 3 },
      model: 'fake',
      latencyMs: 1,
      servedBy: { provider: 'p', model: 'fake', cached: false },
    };
    const metrics = { llmTokens: { inc: () => {} } } as unknown as Parameters<typeof recordLlmUsage>[1];
    const step = () =>
      recordLlmUsage(db(), metrics, workflowId, [call], runEventCte('intent', { intent: 'chat' }, { workflowId }));
    await step();
    await step();
    expect(await db().select().from(llmUsage).where(eq(llmUsage.workflowId, workflowId))).toHaveLength(2);
    expect((await eventsOf(handle, workflowId)).map((event) => event.type)).toEqual(['intent']);
  });
});
