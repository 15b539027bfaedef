// One user's data on real Temporal, PostgreSQL and MinIO: with TRANSCRIPT_ANONYMISE the stored transcript holds
// placeholders, not phone numbers; GET …/export returns the user's messages, runs and objects; DELETE removes
// them (database rows, offloaded text, memory snapshots, Temporal histories, a pending reminder) and leaves
// another user's data alone. Both are in the audit log with the admin who asked.
import { WorkflowNotFoundError } from '@temporalio/client';
import { and, desc, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../audit/chain.js';
import { legacyMemorySnapshotPrefix, memorySnapshotPrefix } from '../conversations/memory.js';
import type { InboundMessage } from '../core/message.js';
import { auditLog, jobs, memories, messages, replyOutbox, runEvents, runs } from '../db/schema.js';
import type { RunStatus } from '../runs/contract.js';
import { offloadKey } from '../runs/offload-large-text.js';
import { startMessageRun } from '../runs/start-message-run.js';
import { eventually, startTestPlatform, type TestPlatform } from './support/platform.js';

let platform: TestPlatform;
const run = `pd${Date.now().toString(36)}`;
const alice = `alice-${run}`;
const bob = `bob-${run}`;
const ADMIN = 'api:env:CONDUIT_ADMIN_API_KEY';

beforeAll(async () => {
  platform = await startTestPlatform({ TRANSCRIPT_ANONYMISE: 'true' });
});
afterAll(async () => {
  await platform?.stop();
});

let sequence = 0;
async function send(
  sender: string,
  conversation: string,
  text: string,
): Promise<{ workflowId: string; result: RunStatus }> {
  const response = await platform.api('/v1/messages?wait=20', {
    method: 'POST',
    body: JSON.stringify({
      message_id: `${run}-${sequence++}`,
      conversation_id: conversation,
      sender: { id: sender },
      text,
    }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { workflowId: string; result: RunStatus };
}

const conversation = (name: string) => `api:${name}`;
const aliceAlone = `${run}-alice`;
const bobAlone = `${run}-bob`;
const shared = `${run}-team`;
/** Alice's first run, from the anonymisation test: hers like the others. */
let anonymisedRun = '';

describe('transcripts with TRANSCRIPT_ANONYMISE', () => {
  it('store placeholders instead of phone numbers, both ways, while the reply itself is whole', async () => {
    const { workflowId, result } = await send(alice, aliceAlone, '/echo call me on 138-1234-5678 or mail a@b.cn');
    anonymisedRun = workflowId;
    expect(result.reply).toBe('call me on 138-1234-5678 or mail a@b.cn');
    const stored = await platform.database.db
      .select({ direction: messages.direction, text: messages.text })
      .from(messages)
      .where(eq(messages.workflowId, workflowId))
      .orderBy(messages.direction);
    expect(stored).toEqual([
      { direction: 'in', text: '/echo call me on [PHONE_1] or mail [EMAIL_1]' },
      { direction: 'out', text: 'call me on [PHONE_1] or mail [EMAIL_1]' },
    ]);
    const [outbox] = await platform.database.db
      .select({ text: replyOutbox.text })
      .from(replyOutbox)
      .where(eq(replyOutbox.workflowId, workflowId));
    expect(outbox?.text).not.toContain('1234');
  });
});

describe("one user's data", () => {
  let aliceRuns: string[] = [];
  let bobRuns: string[] = [];
  let bigMessage: InboundMessage;
  let reminderId: string;

  beforeAll(async () => {
    if (anonymisedRun) aliceRuns.push(anonymisedRun);
    aliceRuns.push((await send(alice, aliceAlone, '/echo my own note')).workflowId);
    aliceRuns.push((await send(alice, shared, '/echo hello from alice')).workflowId);
    bobRuns.push((await send(bob, shared, '/echo hello from bob')).workflowId);
    bobRuns.push((await send(bob, bobAlone, '/echo bob alone')).workflowId);
    const remind = await send(alice, aliceAlone, '/remind 1h water the plants');
    aliceRuns.push(remind.workflowId);
    reminderId = /Job id: (r-[\w-]+)/.exec(remind.result.reply ?? '')![1]!;
    // Text over 128 KB is offloaded to the object store before the run starts.
    bigMessage = {
      channel: 'api',
      messageId: `${run}-big`,
      conversationId: aliceAlone,
      conversationType: 'direct',
      sender: { id: alice },
      text: `/echo ${'y'.repeat(140 * 1024)}`,
      mentions: [],
      attachments: [],
      sentAt: new Date().toISOString(),
      replyTarget: { channel: 'api', data: {} },
    };
    const started = await startMessageRun(platform.temporal, platform.config.temporal.taskQueue, bigMessage, {
      blobs: platform.blobs,
    });
    await platform.temporal.workflow.getHandle(started.workflowId).result();
    aliceRuns.push(started.workflowId);
    // Memory: summaries and transcript snapshots of her own conversation and of the shared one.
    for (const id of [conversation(aliceAlone), conversation(shared), conversation(bobAlone)]) {
      await platform.database.db.insert(memories).values({ conversationId: id, key: 'summary', value: { text: id } });
      await platform.blobs.put(`${memorySnapshotPrefix(id)}2026-01-01T00-00-00-000Z.json`, '{}');
    }
    aliceRuns = aliceRuns.sort();
    bobRuns = bobRuns.sort();
  });

  it('is exported as JSON, and the export is audit-logged', async () => {
    const response = await platform.api(`/v1/privacy/users/api/${alice}/export`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toContain('attachment');
    const data = (await response.json()) as {
      user: unknown;
      runs: Array<{ workflowId: string }>;
      messages: Array<{ senderId: string; text: string; direction: string }>;
      jobs: Array<{ id: string }>;
      conversations: { sole: string[]; shared: string[] };
      memories: Array<{ conversationId: string }>;
      objects: { offloadedTexts: string[]; memorySnapshots: string[] };
    };
    expect(data.user).toEqual({ channel: 'api', userId: alice });
    expect(data.runs.map((row) => row.workflowId).sort()).toEqual(aliceRuns);
    const texts = data.messages.map((row) => row.text);
    expect(texts).toContain('/echo my own note');
    expect(texts).toContain('hello from alice');
    expect(texts).not.toContain('/echo hello from bob');
    expect(data.jobs.map((job) => job.id)).toEqual([reminderId]);
    expect(data.conversations).toEqual({ sole: [conversation(aliceAlone)], shared: [conversation(shared)] });
    expect(data.memories.map((row) => row.conversationId)).toEqual([conversation(aliceAlone)]);
    expect(data.objects.offloadedTexts).toEqual([offloadKey(bigMessage)]);
    // The shared conversation's snapshots hold her lines too (unattributed): listed, as they are erased.
    expect(data.objects.memorySnapshots.sort()).toEqual(
      [
        `${memorySnapshotPrefix(conversation(aliceAlone))}2026-01-01T00-00-00-000Z.json`,
        `${memorySnapshotPrefix(conversation(shared))}2026-01-01T00-00-00-000Z.json`,
      ].sort(),
    );
    const [entry] = await platform.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'privacy.export'), eq(auditLog.target, `user:api:${alice}`)));
    expect(entry).toMatchObject({ actor: ADMIN, outcome: 'success', detail: { runs: aliceRuns.length } });
  });

  it('is erased on request, another user’s data is untouched, and the erasure is audit-logged', async () => {
    const db = platform.database.db;
    expect(await platform.blobs.get(offloadKey(bigMessage))).toBeDefined();
    const response = await platform.api(`/v1/privacy/users/api/${alice}`, { method: 'DELETE' });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { status: string; deleted: Record<string, number> };
    expect(body.status).toBe('erased');
    // Memories: her own conversation's, and the shared conversation's summary; objects: her offloaded text and the
    // snapshots of both conversations.
    expect(body.deleted).toMatchObject({ runs: aliceRuns.length, jobs: 1, memories: 2, conversations: 1, objects: 3 });
    expect(body.deleted.temporalRuns).toBeGreaterThanOrEqual(aliceRuns.length);

    // Her rows are gone, everywhere they were.
    expect(await db.$count(runs, and(eq(runs.channel, 'api'), eq(runs.senderId, alice)))).toBe(0);
    expect(await db.$count(messages, eq(messages.senderId, alice))).toBe(0);
    expect(await db.$count(messages, inArray(messages.workflowId, aliceRuns))).toBe(0);
    expect(await db.$count(messages, eq(messages.conversationId, conversation(aliceAlone)))).toBe(0);
    expect(await db.$count(replyOutbox, inArray(replyOutbox.workflowId, aliceRuns))).toBe(0);
    expect(await db.$count(runEvents, inArray(runEvents.workflowId, aliceRuns))).toBe(0);
    expect(await db.$count(jobs, eq(jobs.ownerId, alice))).toBe(0);
    expect(await platform.blobs.get(offloadKey(bigMessage))).toBeUndefined();
    expect(await platform.blobs.list(memorySnapshotPrefix(conversation(aliceAlone)))).toEqual([]);
    // The pending reminder and her runs' histories are deleted from Temporal (asynchronously on the server).
    await eventually(
      async () => {
        try {
          await platform.temporal.workflow.getHandle(`reminder:${reminderId}`).describe();
          return undefined;
        } catch (error) {
          return error instanceof WorkflowNotFoundError ? true : undefined;
        }
      },
      20_000,
      'the reminder workflow to be deleted',
    );

    // Bob's data, in the conversation they shared and in his own, is all there.
    expect(
      (await db.select({ id: runs.workflowId }).from(runs).where(eq(runs.senderId, bob))).map((r) => r.id).sort(),
    ).toEqual(bobRuns);
    const bobTexts = (
      await db.select({ text: messages.text }).from(messages).where(inArray(messages.workflowId, bobRuns))
    ).map((row) => row.text);
    expect(bobTexts.sort()).toEqual(['/echo bob alone', '/echo hello from bob', 'bob alone', 'hello from bob']);
    expect(
      (
        await db
          .select({ id: memories.conversationId })
          .from(memories)
          .where(inArray(memories.conversationId, [conversation(shared), conversation(bobAlone)]))
      ).length,
    ).toBe(1);
    // The shared conversation's summary and snapshots quoted her, unattributed: dropped; Bob's own are kept.
    expect(await db.$count(memories, eq(memories.conversationId, conversation(shared)))).toBe(0);
    expect(await db.$count(memories, eq(memories.conversationId, conversation(bobAlone)))).toBe(1);
    expect(await platform.blobs.list(memorySnapshotPrefix(conversation(shared)))).toEqual([]);
    expect(await platform.blobs.list(memorySnapshotPrefix(conversation(bobAlone)))).toHaveLength(1);
    expect((await platform.temporal.workflow.getHandle(bobRuns[0]!).describe()).status.name).toBe('COMPLETED');

    const [entry] = await db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'privacy.erase'), eq(auditLog.target, `user:api:${alice}`)))
      .orderBy(desc(auditLog.sequence));
    expect(entry).toMatchObject({ actor: ADMIN, outcome: 'success', detail: { deleted: body.deleted } });
    expect(await verifyAuditChain(db)).toMatchObject({ ok: true });

    // Asking again finds nothing left to erase.
    const again = (await (await platform.api(`/v1/privacy/users/api/${alice}`, { method: 'DELETE' })).json()) as {
      deleted: Record<string, number>;
    };
    expect(again.deleted).toMatchObject({ runs: 0, messages: 0, jobs: 0, memories: 0 });
  });
});

describe('erasure with look-alike conversation ids', () => {
  it('erasing the user of conversation x_3Aops leaves the snapshots of another user’s x:ops alone', async () => {
    const carol = `carol-${run}`;
    const dave = `dave-${run}`;
    const lookAlike = `${run}_3Aops`;
    const colon = `${run}:ops`;
    await send(carol, lookAlike, '/echo carol');
    await send(dave, colon, '/echo dave');
    const snapshot = (id: string) => JSON.stringify({ conversationId: id, messages: [] });
    for (const id of [conversation(lookAlike), conversation(colon)]) {
      await platform.blobs.put(`${memorySnapshotPrefix(id)}2026-01-01T00-00-00-000Z.json`, snapshot(id));
    }
    // Snapshots an older version wrote: both conversations under one prefix, told apart only by their content.
    const legacy = legacyMemorySnapshotPrefix(conversation(colon))!;
    expect(legacyMemorySnapshotPrefix(conversation(lookAlike))).toBe(legacy);
    await platform.blobs.put(`${legacy}2025-01-01T00-00-00-000Z.json`, snapshot(conversation(lookAlike)));
    await platform.blobs.put(`${legacy}2025-01-02T00-00-00-000Z.json`, snapshot(conversation(colon)));

    const response = await platform.api(`/v1/privacy/users/api/${carol}`, { method: 'DELETE' });
    expect(response.status).toBe(200);
    expect(await platform.blobs.list(memorySnapshotPrefix(conversation(lookAlike)))).toEqual([]);
    expect(await platform.blobs.list(memorySnapshotPrefix(conversation(colon)))).toHaveLength(1);
    expect(await platform.blobs.list(legacy)).toEqual([`${legacy}2025-01-02T00-00-00-000Z.json`]);
  });
});
