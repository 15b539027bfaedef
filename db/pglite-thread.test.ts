import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openDatabase, openSharedDatabase } from './client.js';
import { apiKeys } from './schema.js';

/** The rows of db.execute, whose type drizzle leaves open (pglite's Results here). */
const rowsOf = async (result: Promise<unknown>) => ((await result) as { rows: unknown[] }).rows;

describe('PGlite on a thread of its own', () => {
  let dir: string;
  let handle: DatabaseHandle;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-pglite-thread-'));
    handle = await openDatabase({ kind: 'pglite', dir }, { pgliteThread: true });
  }, 60_000);
  afterAll(async () => {
    await handle?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers queries with the schema migrated, and a second thread sees the same store', async () => {
    await handle.ping();
    const other = await openSharedDatabase({ kind: 'pglite', dir }, handle.share!());
    try {
      await other.db.execute(sql`create table if not exists t_shared (id int primary key, at timestamptz)`);
      await other.db.execute(sql`insert into t_shared values (1, now())`);
      const rows = await rowsOf(handle.db.execute(sql`select id, at from t_shared`));
      expect(rows).toHaveLength(1);
      // Timestamps come back as PostgreSQL's text, as drizzle-orm/pglite asks of a local PGlite.
      expect(typeof (rows[0] as { at: unknown }).at).toBe('string');
      expect(await handle.db.select().from(apiKeys)).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('commits a transaction, rolls back one that throws, and keeps PostgreSQL error fields', async () => {
    await handle.db.execute(sql`create table t_tx (id int primary key)`);
    await handle.db.transaction(async (tx) => {
      await tx.execute(sql`insert into t_tx values (1)`);
    });
    await expect(
      handle.db.transaction(async (tx) => {
        await tx.execute(sql`insert into t_tx values (2)`);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    const duplicate = await handle.db.execute(sql`insert into t_tx values (1)`).catch((error: unknown) => error);
    expect((duplicate as { cause?: { code?: string } }).cause?.code).toBe('23505');
    expect(await rowsOf(handle.db.execute(sql`select id from t_tx order by id`))).toEqual([{ id: 1 }]);
  });

  it('queues other queries behind an open transaction instead of running them inside it', async () => {
    await handle.db.execute(sql`create table t_iso (id int)`);
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const inside = handle.db.transaction(async (tx) => {
      await tx.execute(sql`insert into t_iso values (1)`);
      await held;
      throw new Error('roll back');
    });
    const outside = handle.db.execute(sql`select count(*)::int as n from t_iso`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    await expect(inside).rejects.toThrow('roll back');
    expect(await rowsOf(outside)).toEqual([{ n: 0 }]);
  });
});
