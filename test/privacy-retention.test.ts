// Retention on real Temporal and PostgreSQL: POST /v1/privacy/purge runs the retentionPurge workflow, which deletes
// rows and objects past their retention period and keeps recent ones and open work; the daily Schedule exists;
// the MinIO driver lists write times so the object-store purge works there too.
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { and, desc, eq, inArray, like } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { verifyAuditChain } from '../audit/chain.js';
import { auditLog, conversations, jobs, memories, messages, replyOutbox, runEvents, runs } from '../db/schema.js';
import { purgeExpired } from '../privacy/retention.js';
import type { RetentionPurgeResult } from '../privacy/retention-classes.js';
import { ensureRetentionSchedule, retentionScheduleId } from '../privacy/retention-schedule.js';
import { openBlobStore } from '../storage/open-blob-store.js';
import { startTestPlatform, type TestPlatform } from './support/platform.js';

const DAY = 86_400_000;
let platform: TestPlatform;
const run = `ret${Date.now().toString(36)}`;
const conversationId = `api:${run}`;

beforeAll(async () => {
  platform = await startTestPlatform(
    { RETENTION_MESSAGES_DAYS: '30', RETENTION_RUN_EVENTS_DAYS: '7', RETENTION_BLOBS_DAYS: '30' },
    { storage: 'filesystem' },
  );
});
afterAll(async () => {
  await platform?.stop();
});

const daysAgo = (days: number) => new Date(Date.now() - days * DAY);

async function seed() {
  const db = platform.database.db;
  await db.insert(conversations).values({ id: conversationId, channel: 'api', externalId: run, type: 'direct' });
  const message = (id: string, createdAt: Date) => ({
    id: `${run}:${id}`,
    conversationId,
    workflowId: `message:api:${run}-${id}`,
    direction: 'in' as const,
    senderId: 'u',
    text: `text of ${id}`,
    createdAt,
  });
  await db.insert(messages).values([message('old', daysAgo(40)), message('recent', daysAgo(2))]);
  await db.insert(replyOutbox).values([
    { key: `${run}:old`, workflowId: 'w', channel: 'api', kind: 'final', text: 'old reply', createdAt: daysAgo(40) },
    { key: `${run}:recent`, workflowId: 'w', channel: 'api', kind: 'final', text: 'new reply' },
  ]);
  const runRow = (id: string, status: 'running' | 'completed', startedAt: Date) => ({
    workflowId: `${run}:${id}`,
    channel: 'api',
    messageId: id,
    conversationId,
    senderId: 'u',
    status,
    startedAt,
  });
  await db
    .insert(runs)
    .values([
      runRow('old-done', 'completed', daysAgo(40)),
      runRow('old-open', 'running', daysAgo(40)),
      runRow('recent', 'completed', daysAgo(1)),
    ]);
  await db.insert(jobs).values({
    id: `${run}-pending`,
    kind: 'reminder',
    workflowId: `reminder:${run}`,
    channel: 'api',
    conversationId,
    ownerId: 'u',
    summary: 'still waiting',
    updatedAt: daysAgo(40),
  });
  await db.insert(memories).values([
    { conversationId, key: 'summary', value: { text: 'old summary' }, updatedAt: daysAgo(40) },
    { conversationId: `${conversationId}-active`, key: 'summary', value: { text: 'fresh' } },
  ]);
  await db.insert(runEvents).values([
    { workflowId: `${run}:events`, dedupeKey: `${run}:e-old`, type: 'step', at: daysAgo(8) },
    { workflowId: `${run}:events`, dedupeKey: `${run}:e-recent`, type: 'step', at: daysAgo(6) },
  ]);
  const objects = platform.config.blobs.kind === 'filesystem' ? join(platform.config.blobs.dir, 'objects') : '';
  for (const [key, age] of [
    [`messages/api/${run}-old.txt`, 40],
    [`memory/api_3A${run}/old.json`, 40],
    [`messages/api/${run}-recent.txt`, 1],
    [`attachments/${run}/old.bin`, 40],
  ] as const) {
    await platform.blobs.put(key, 'content');
    await utimes(join(objects, key), daysAgo(age), daysAgo(age));
  }
}

describe('the retention purge', () => {
  it('runs through Temporal on demand: expired rows and objects go, recent ones and open work stay', async () => {
    await seed();
    const refused = await platform.api('/v1/privacy/purge', { method: 'POST', body: '{"classes":["everything"]}' });
    expect(refused.status).toBe(400);
    const response = await platform.api('/v1/privacy/purge', { method: 'POST' });
    expect(response.status).toBe(202);
    const { workflowId } = (await response.json()) as { workflowId: string };
    expect(workflowId).toMatch(new RegExp(`^retention-purge:${platform.config.temporal.taskQueue}:manual:`));
    const result = (await platform.temporal.workflow.getHandle(workflowId).result()) as RetentionPurgeResult;
    expect(result.skipped).toEqual(['audit']);
    expect(result.deleted.messages).toBeGreaterThanOrEqual(4);
    expect(result.deleted.runEvents).toBeGreaterThanOrEqual(1);
    expect(result.deleted.blobs).toBeGreaterThanOrEqual(2);

    const db = platform.database.db;
    const ids = async <T extends { id: string }>(rows: Promise<T[]>) => (await rows).map((row) => row.id).sort();
    expect(
      await ids(db.select({ id: messages.id }).from(messages).where(eq(messages.conversationId, conversationId))),
    ).toEqual([`${run}:recent`]);
    expect(
      await ids(
        db
          .select({ id: replyOutbox.key })
          .from(replyOutbox)
          .where(like(replyOutbox.key, `${run}:%`)),
      ),
    ).toEqual([`${run}:recent`]);
    expect(
      await ids(db.select({ id: runs.workflowId }).from(runs).where(eq(runs.conversationId, conversationId))),
    ).toEqual([`${run}:old-open`, `${run}:recent`]);
    expect(await ids(db.select({ id: jobs.id }).from(jobs).where(eq(jobs.conversationId, conversationId)))).toEqual([
      `${run}-pending`,
    ]);
    expect(
      await ids(
        db
          .select({ id: memories.conversationId })
          .from(memories)
          .where(inArray(memories.conversationId, [conversationId, `${conversationId}-active`])),
      ),
    ).toEqual([`${conversationId}-active`]);
    expect(
      await ids(
        db
          .select({ id: runEvents.dedupeKey })
          .from(runEvents)
          .where(eq(runEvents.workflowId, `${run}:events`)),
      ),
    ).toEqual([`${run}:e-recent`]);
    const left = [...(await platform.blobs.list('')).filter((key) => key.includes(run))].sort();
    expect(left).toEqual([`attachments/${run}/old.bin`, `messages/api/${run}-recent.txt`]);

    // The purge, and the admin who asked for it, are in the audit log; the chain still verifies.
    const request = await db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'retention.purge.request'), eq(auditLog.target, workflowId)));
    expect(request).toMatchObject([{ actor: 'api:env:CONDUIT_ADMIN_API_KEY' }]);
    const summaries = await db
      .select()
      .from(auditLog)
      .where(eq(auditLog.action, 'retention.purge'))
      .orderBy(desc(auditLog.sequence))
      .limit(5);
    expect(summaries.map((row) => row.detail)).toContainEqual({
      trigger: 'api:env:CONDUIT_ADMIN_API_KEY',
      ...result,
      retentionDays: { messages: 30, runEvents: 7, blobs: 30 },
    });
    expect(await verifyAuditChain(db)).toMatchObject({ ok: true });
  });

  it('is a daily Temporal Schedule, created again without error on the next start', async () => {
    const taskQueue = platform.config.temporal.taskQueue;
    const handle = platform.temporal.schedule.getHandle(retentionScheduleId(taskQueue));
    const description = await handle.describe();
    expect(description.action).toMatchObject({ type: 'startWorkflow', workflowType: 'retentionPurge', taskQueue });
    expect(description.spec.calendars?.length ?? 0).toBeGreaterThan(0);
    await ensureRetentionSchedule(platform.temporal, taskQueue);
    expect((await handle.describe()).action).toMatchObject({ workflowType: 'retentionPurge' });
  });

  it('finds expired objects in MinIO by their write times', async () => {
    const s3 = inject('s3');
    const store = await openBlobStore({
      kind: 's3',
      endpoint: s3.endpoint,
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
      bucket: `retention-${run}`,
      region: 'us-east-1',
    });
    await store.put('messages/api/a.txt', 'a');
    await store.put('memory/api_3Ax/b.json', 'b');
    await store.put('attachments/c.bin', 'c');
    const entries = await store.listEntries('');
    expect(entries.map((entry) => entry.key)).toEqual([
      'attachments/c.bin',
      'memory/api_3Ax/b.json',
      'messages/api/a.txt',
    ]);
    expect(entries.every((entry) => Math.abs(entry.lastModified.getTime() - Date.now()) < 60_000)).toBe(true);
    // MinIO cannot backdate an object: purge as of 31 days from now instead.
    const deps = { db: platform.database.db, blobs: store, retentionDays: { blobs: 30 } };
    expect(await purgeExpired(deps, 'blobs', { nowMs: Date.now() + 31 * DAY })).toEqual({ deleted: 2, done: true });
    expect(await store.list('')).toEqual(['attachments/c.bin']);
    await store.delete('attachments/c.bin');
  });
});
