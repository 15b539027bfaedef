// Signature claims on embedded PGlite with the project's migrations: one message per signature, redeliveries of
// the same message pass, concurrent claimants agree on one winner, and expired rows are purged.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openDatabase } from './client.js';
import { webhookSignatures } from './schema.js';
import { createDatabaseSignatureClaims } from './signature-claims.js';

let dir: string;
let database: DatabaseHandle;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conduit-claims-'));
  database = await openDatabase({ kind: 'pglite', dir: join(dir, 'pglite') });
}, 60_000);
afterAll(async () => {
  await database?.close();
  await rm(dir, { recursive: true, force: true });
});

const NOW = new Date('2024-05-01T12:00:00Z');
const later = (ms: number) => new Date(NOW.getTime() + ms);

describe('database signature claims', () => {
  it('accepts a signature for one message only, and again for that message', async () => {
    const claims = createDatabaseSignatureClaims(database.db, () => NOW);
    const claim = { channel: 'dingtalk', signature: 't1:s1', messageId: 'm1', expiresAt: later(300_000) };
    expect(await claims.claim(claim)).toBe(true);
    expect(await claims.claim(claim)).toBe(true);
    expect(await claims.claim({ ...claim, messageId: 'm2' })).toBe(false);
    // The same signature on another channel is another claim.
    expect(await claims.claim({ ...claim, channel: 'other', messageId: 'm2' })).toBe(true);
  });

  it('lets exactly one of two replicas racing with different messages win', async () => {
    const a = createDatabaseSignatureClaims(database.db, () => NOW);
    const b = createDatabaseSignatureClaims(database.db, () => NOW);
    const claim = { channel: 'dingtalk', signature: 't2:s2', expiresAt: later(300_000) };
    const results = await Promise.all([a.claim({ ...claim, messageId: 'ma' }), b.claim({ ...claim, messageId: 'mb' })]);
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('deletes expired claims as new ones come in', async () => {
    const claims = createDatabaseSignatureClaims(database.db, () => later(600_000));
    await claims.claim({ channel: 'dingtalk', signature: 't3:s3', messageId: 'm3', expiresAt: later(900_000) });
    const left = await database.db.select({ signature: webhookSignatures.signature }).from(webhookSignatures);
    expect(left.map((row) => row.signature).sort()).toEqual(['t3:s3']);
  });
});
