// Retention rules on embedded PGlite with the project's migrations, and a filesystem object store whose file
// times are set back.
import { mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openDatabase } from '../db/client.js';
import { jobs, runEvents, runs } from '../db/schema.js';
import type { BlobStore } from '../storage/blob-store.js';
import { openFilesystemStore } from '../storage/filesystem-store.js';
import { purgeExpired } from './retention.js';

const DAY = 86_400_000;
let dir: string;
let database: DatabaseHandle;
let blobs: BlobStore;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conduit-retention-'));
  database = await openDatabase({ kind: 'pglite', dir: join(dir, 'pglite') });
  blobs = await openFilesystemStore(join(dir, 'blobs'));
}, 60_000);
afterAll(async () => {
  await database?.close();
  await rm(dir, { recursive: true, force: true });
});

const deps = () => ({
  db: database.db,
  blobs,
  retentionDays: { messages: 30, runEvents: 7, blobs: 30, audit: undefined },
});

describe('purgeExpired', () => {
  it('deletes expired run events in batches and reports whether it finished', async () => {
    const old = new Date(Date.now() - 8 * DAY);
    await database.db.insert(runEvents).values(
      Array.from({ length: 25 }, (_, index) => ({
        workflowId: 'wf-old',
        dedupeKey: `old-${index}`,
        type: 'step',
        at: old,
      })),
    );
    await database.db.insert(runEvents).values({ workflowId: 'wf-new', dedupeKey: 'new-1', type: 'step' });
    const first = await purgeExpired(deps(), 'runEvents', { nowMs: Date.now(), batchSize: 10, budgetMs: 0 });
    expect(first).toEqual({ deleted: 10, done: false });
    const rest = await purgeExpired(deps(), 'runEvents', { nowMs: Date.now(), batchSize: 10 });
    expect(rest).toEqual({ deleted: 15, done: true });
    const left = await database.db.select({ key: runEvents.dedupeKey }).from(runEvents);
    expect(left).toEqual([{ key: 'new-1' }]);
  });

  it('keeps runs and jobs that are still open, however old', async () => {
    const old = new Date(Date.now() - 40 * DAY);
    const run = (workflowId: string, status: 'running' | 'completed') => ({
      workflowId,
      channel: 'api',
      messageId: workflowId,
      conversationId: 'api:c',
      senderId: 'u',
      status,
      startedAt: old,
    });
    await database.db.insert(runs).values([run('r-open', 'running'), run('r-done', 'completed')]);
    const job = (id: string, status: 'pending' | 'done') => ({
      id,
      kind: 'reminder' as const,
      workflowId: `reminder:${id}`,
      channel: 'api',
      conversationId: 'api:c',
      ownerId: 'u',
      summary: 'water the plants',
      status,
      updatedAt: old,
    });
    await database.db.insert(jobs).values([job('j-open', 'pending'), job('j-done', 'done')]);
    expect(await purgeExpired(deps(), 'messages', { nowMs: Date.now() })).toMatchObject({ deleted: 2, done: true });
    expect((await database.db.select({ id: runs.workflowId }).from(runs)).map((row) => row.id)).toEqual(['r-open']);
    expect((await database.db.select({ id: jobs.id }).from(jobs)).map((row) => row.id)).toEqual(['j-open']);
  });

  it('deletes expired objects under the content prefixes only', async () => {
    for (const key of ['messages/api/old.txt', 'memory/api_3Ac/old.json', 'runs/r1/old.bin', 'messages/api/new.txt']) {
      await blobs.put(key, 'x');
    }
    const past = new Date(Date.now() - 40 * DAY);
    for (const key of ['messages/api/old.txt', 'memory/api_3Ac/old.json', 'runs/r1/old.bin']) {
      await utimes(join(dir, 'blobs', 'objects', key), past, past);
    }
    expect(await purgeExpired(deps(), 'blobs', { nowMs: Date.now() })).toEqual({ deleted: 2, done: true });
    expect([...(await blobs.list('')).values()]).toEqual(['messages/api/new.txt', 'runs/r1/old.bin']);
  });

  it('skips a class with no retention period', async () => {
    expect(await purgeExpired(deps(), 'audit', { nowMs: Date.now() })).toEqual({
      deleted: 0,
      done: true,
      skipped: true,
    });
  });
});
