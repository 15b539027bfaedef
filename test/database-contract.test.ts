// Both database drivers serve the same schema and migrations: real PostgreSQL and embedded PGlite.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { type DatabaseHandle, openDatabase } from '../db/client.js';
import { jobs, rateWindows, runs } from '../db/schema.js';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const drivers: Record<string, () => Promise<DatabaseHandle>> = {
  postgres: async () => {
    const handle = await openDatabase({ kind: 'postgres', url: inject('databaseUrl') });
    cleanups.push(() => handle.close());
    return handle;
  },
  pglite: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conduit-pglite-'));
    const handle = await openDatabase({ kind: 'pglite', dir });
    cleanups.push(async () => {
      await handle.close();
      await rm(dir, { recursive: true, force: true });
    });
    return handle;
  },
};

describe.each(Object.keys(drivers))('the %s database', (driver) => {
  it('migrates idempotently and round-trips rows', async () => {
    const handle = await drivers[driver]!();
    await handle.ping();
    // A second migration run (a restart) changes nothing.
    const again = await openDatabase({ kind: 'postgres', url: inject('databaseUrl') });
    await again.close();
    const id = `wf-${driver}-${Date.now()}`;
    await handle.db
      .insert(runs)
      .values({ workflowId: id, channel: 'api', messageId: 'm', conversationId: 'api:c', senderId: 'u' });
    const inserted = await handle.db
      .insert(runs)
      .values({ workflowId: id, channel: 'api', messageId: 'm', conversationId: 'api:c', senderId: 'u' })
      .onConflictDoNothing()
      .returning();
    expect(inserted).toEqual([]);
    const [row] = await handle.db.select().from(runs).where(eq(runs.workflowId, id));
    expect(row).toMatchObject({ status: 'running', channel: 'api' });
    expect(row?.startedAt).toBeInstanceOf(Date);
  });

  it('counts rate windows atomically with upserts', async () => {
    const handle = await drivers[driver]!();
    const key = `k-${driver}-${Date.now()}`;
    const windowStart = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    const bump = () =>
      handle.db
        .insert(rateWindows)
        .values({ key, windowStart, count: 1 })
        .onConflictDoUpdate({
          target: [rateWindows.key, rateWindows.windowStart],
          set: { count: sql`${rateWindows.count} + 1` },
        })
        .returning({ count: rateWindows.count });
    const counts = await Promise.all(Array.from({ length: 5 }, bump));
    expect(counts.map((r) => r[0]?.count).sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('keeps job timestamps with their time zone', async () => {
    const handle = await drivers[driver]!();
    const due = new Date('2030-01-02T03:04:05.678Z');
    const id = `j-${driver}-${Date.now()}`;
    await handle.db.insert(jobs).values({
      id,
      kind: 'reminder',
      workflowId: 'w',
      channel: 'api',
      conversationId: 'c',
      ownerId: 'o',
      summary: 's',
      dueAt: due,
    });
    const [row] = await handle.db.select().from(jobs).where(eq(jobs.id, id));
    expect(row?.dueAt?.toISOString()).toBe(due.toISOString());
  });
});
