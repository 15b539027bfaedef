// The audit hash chain on embedded PGlite with the project's migrations: every kind of tampering is reported at
// the row where it happened, purges keep the chain verifiable, and rows from before the chain are adopted once.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openDatabase } from '../db/client.js';
import { auditLog } from '../db/schema.js';
import { appendAudit, PURGE_ACTION, purgeAuditBefore, sealLegacyAuditRows, verifyAuditChain } from './chain.js';
import { canonicalJson, GENESIS_HASH } from './hash.js';

let dir: string;
let database: DatabaseHandle;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conduit-audit-'));
  database = await openDatabase({ kind: 'pglite', dir: join(dir, 'pglite') });
  // PGlite boots a WebAssembly PostgreSQL and runs the migrations: slow on a busy machine.
}, 60_000);
afterAll(async () => {
  await database?.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await database.db.delete(auditLog);
});

async function appendFive() {
  for (let index = 1; index <= 5; index += 1) {
    await appendAudit(database.db, {
      actor: `api:key_${index}`,
      action: 'api_key.create',
      target: `key_${index}`,
      detail: { name: `bot ${index}`, role: 'member', nested: { b: 2, a: [1, { z: true, y: null }] } },
    });
  }
}

const tamper = (sequence: number, set: Partial<typeof auditLog.$inferInsert>) =>
  database.db.update(auditLog).set(set).where(eq(auditLog.sequence, sequence));

describe('canonical JSON', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: undefined }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[2,{"f":1}]},"b":1}',
    );
  });
});

describe('the audit chain', () => {
  it('links gapless rows from the genesis hash, and verifies', async () => {
    await appendFive();
    const rows = await database.db.select().from(auditLog).orderBy(asc(auditLog.sequence));
    expect(rows.map((row) => row.sequence)).toEqual([1, 2, 3, 4, 5]);
    expect(rows[0]!.prevHash).toBe(GENESIS_HASH);
    for (let index = 1; index < rows.length; index += 1) expect(rows[index]!.prevHash).toBe(rows[index - 1]!.hash);
    expect(await verifyAuditChain(database.db, { batchSize: 2 })).toEqual({
      ok: true,
      checked: 5,
      head: { sequence: 5, hash: rows[4]!.hash },
    });
  });

  it.each([
    ['actor', { actor: 'api:someone-else' }],
    ['action', { action: 'api_key.revoke' }],
    ['target', { target: null }],
    ['outcome', { outcome: 'denied' as const }],
    ['detail', { detail: { name: 'bot 3', role: 'admin', nested: { b: 2, a: [1, { z: true, y: null }] } } }],
    ['time', { at: new Date('2020-01-01T00:00:00Z') }],
    ['hash', { hash: 'f'.repeat(64) }],
    ['previous hash', { prevHash: GENESIS_HASH }],
  ])('reports an altered %s at that row', async (_field, set) => {
    await appendFive();
    await tamper(3, set);
    expect(await verifyAuditChain(database.db)).toMatchObject({ ok: false, firstBadSequence: 3, checked: 2 });
  });

  it('reports a row deleted from the middle as missing', async () => {
    await appendFive();
    await database.db.delete(auditLog).where(eq(auditLog.sequence, 3));
    expect(await verifyAuditChain(database.db)).toMatchObject({
      ok: false,
      firstBadSequence: 3,
      reason: 'row 3 is missing',
    });
  });

  it('reports two rows swapped at the first of them', async () => {
    await appendFive();
    await database.db.transaction(async (tx) => {
      await tx.update(auditLog).set({ sequence: 100 }).where(eq(auditLog.sequence, 2));
      await tx.update(auditLog).set({ sequence: 2 }).where(eq(auditLog.sequence, 3));
      await tx.update(auditLog).set({ sequence: 3 }).where(eq(auditLog.sequence, 100));
    });
    expect(await verifyAuditChain(database.db)).toMatchObject({ ok: false, firstBadSequence: 2 });
  });

  it('reports a whole chain rewritten after the anchor was seen', async () => {
    await appendFive();
    const { head } = await verifyAuditChain(database.db);
    await database.db.delete(auditLog);
    for (let index = 0; index < 5; index += 1) await appendAudit(database.db, { actor: 'x', action: 'forged' });
    expect(await verifyAuditChain(database.db)).toMatchObject({ ok: true });
    expect(await verifyAuditChain(database.db, { anchor: head })).toMatchObject({ ok: false, firstBadSequence: 5 });
  });

  it('reports rows removed from the end only against an anchor', async () => {
    await appendFive();
    const { head } = await verifyAuditChain(database.db);
    await database.db.delete(auditLog).where(sql`${auditLog.sequence} >= 4`);
    expect(await verifyAuditChain(database.db)).toMatchObject({ ok: true, checked: 3 });
    expect(await verifyAuditChain(database.db, { anchor: head })).toMatchObject({ ok: false, firstBadSequence: 4 });
  });

  it('reports rows removed from the start unless a purge vouches for the cut', async () => {
    await appendFive();
    await database.db.delete(auditLog).where(sql`${auditLog.sequence} <= 2`);
    expect(await verifyAuditChain(database.db)).toMatchObject({ ok: false, firstBadSequence: 3 });
  });

  it('keeps one chain under concurrent appends', async () => {
    await Promise.all(
      Array.from({ length: 25 }, (_, index) =>
        appendAudit(database.db, { actor: `a${index}`, action: 'test.concurrent' }),
      ),
    );
    const rows = await database.db.select({ sequence: auditLog.sequence }).from(auditLog);
    expect(rows.map((row) => row.sequence).sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(await verifyAuditChain(database.db)).toMatchObject({ ok: true, checked: 25 });
  });

  it('commits a row appended inside a transaction with that transaction, or not at all', async () => {
    await appendFive();
    await expect(
      database.db.transaction(async (tx) => {
        await appendAudit(tx, { actor: 'api:x', action: 'test.rolled_back' });
        throw new Error('the surrounding work failed');
      }),
    ).rejects.toThrow('the surrounding work failed');
    await database.db.transaction(async (tx) => {
      await appendAudit(tx, { actor: 'api:x', action: 'test.committed' });
    });
    const rows = await database.db.select().from(auditLog).orderBy(asc(auditLog.sequence));
    expect(rows.map((row) => row.action).slice(5)).toEqual(['test.committed']);
    expect(await verifyAuditChain(database.db)).toMatchObject({ ok: true, checked: 6 });
  });
});

describe('purging old audit rows', () => {
  it('removes a prefix behind a purge row, and the rest still verifies', async () => {
    await appendFive();
    const old = new Date(Date.now() - 10 * 86_400_000);
    await database.db.update(auditLog).set({ at: old }).where(sql`${auditLog.sequence} <= 3`);
    // Changing times breaks their hashes: re-seal the test rows as if they had been written then.
    await resealAll();
    expect(await purgeAuditBefore(database.db, new Date(Date.now() - 86_400_000), 'system:retention')).toBe(3);
    const rows = await database.db.select().from(auditLog).orderBy(asc(auditLog.sequence));
    expect(rows.map((row) => [row.sequence, row.action])).toEqual([
      [4, 'api_key.create'],
      [5, 'api_key.create'],
      [6, PURGE_ACTION],
    ]);
    expect(rows[2]!.detail).toMatchObject({ throughSequence: 3 });
    expect(await verifyAuditChain(database.db)).toMatchObject({ ok: true, checked: 3 });
    // Nothing old is left: a second purge removes nothing and writes nothing.
    expect(await purgeAuditBefore(database.db, new Date(Date.now() - 86_400_000), 'system:retention')).toBe(0);
    expect(await database.db.$count(auditLog)).toBe(3);
  });
});

/** Recomputes every hash in order: what a writer at the rows' recorded times would have produced. */
async function resealAll() {
  await database.db.update(auditLog).set({ hash: null, prevHash: null });
  await sealLegacyAuditRows(database.db);
}

describe('rows written before the chain existed', () => {
  it('are numbered by the migration and sealed into the chain once', async () => {
    const legacyDir = await mkdtemp(join(tmpdir(), 'conduit-audit-legacy-'));
    try {
      // Migrate a fresh database only up to 0003, write rows the way the old code did, then migrate the rest.
      const migrations = fileURLToPath(new URL('../db/migrations', import.meta.url));
      const early = join(legacyDir, 'migrations');
      await cp(migrations, early, { recursive: true });
      const journalPath = join(early, 'meta', '_journal.json');
      const journal = JSON.parse(await readFile(journalPath, 'utf8')) as { entries: Array<{ tag: string }> };
      journal.entries = journal.entries.filter((entry) => entry.tag < '0004');
      await writeFile(journalPath, JSON.stringify(journal));
      const { PGlite } = await import('@electric-sql/pglite');
      const { drizzle } = await import('drizzle-orm/pglite');
      const { migrate } = await import('drizzle-orm/pglite/migrator');
      const client = await PGlite.create(join(legacyDir, 'db'));
      const db = drizzle(client);
      try {
        await migrate(db, { migrationsFolder: early });
        await db.execute(sql`insert into audit_log (actor, action, subject, detail, created_at) values
          ('system', 'api_key.create', 'key_b', '{"name":"b"}', now() - interval '1 hour'),
          ('system', 'api_key.create', 'key_a', '{"name":"a"}', now() - interval '2 hours'),
          ('api:key_a', 'api_key.revoke', 'key_b', null, now())`);
        await migrate(db, { migrationsFolder: migrations });
        const legacy = db as unknown as DatabaseHandle['db'];
        expect(await verifyAuditChain(legacy)).toMatchObject({ ok: false, firstBadSequence: 1 });
        expect(await sealLegacyAuditRows(legacy)).toBe(3);
        expect(await sealLegacyAuditRows(legacy)).toBe(0);
        await appendAudit(legacy, { actor: 'system', action: 'test.after_upgrade' });
        const rows = await legacy.select().from(auditLog).orderBy(asc(auditLog.sequence));
        expect(rows.map((row) => [row.sequence, row.target])).toEqual([
          [1, 'key_a'],
          [2, 'key_b'],
          [3, 'key_b'],
          [4, null],
        ]);
        expect(await verifyAuditChain(legacy)).toMatchObject({ ok: true, checked: 4 });
      } finally {
        await client.close();
      }
    } finally {
      await rm(legacyDir, { recursive: true, force: true });
    }
  }, 60_000);
});
