// The two-person rule for erasing a user's data, on embedded PGlite with the project's migrations.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { like } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit, verifyAuditChain } from '../audit/chain.js';
import { type DatabaseHandle, openDatabase } from '../db/client.js';
import { auditLog } from '../db/schema.js';
import { approveErasure, ERASURE_ACTION } from './erasure-approval.js';

let dir: string;
let database: DatabaseHandle;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conduit-erasure-'));
  database = await openDatabase({ kind: 'pglite', dir });
}, 60_000);
afterAll(async () => {
  await database?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the two-person rule for erasure', () => {
  it('records the first request, ignores a repeat by the same admin, and approves for a second admin', async () => {
    const target = 'user:feishu:ou_erase';
    const first = await approveErasure(database.db, target, 'api:key_a');
    expect(first).toMatchObject({ approved: false });
    expect(await approveErasure(database.db, target, 'api:key_a')).toMatchObject({ approved: false });
    const requests = await database.db.select().from(auditLog).where(like(auditLog.action, 'privacy.erase%'));
    expect(requests.map((row) => [row.actor, row.action])).toEqual([['api:key_a', 'privacy.erase.request']]);
    expect(await approveErasure(database.db, target, 'api:key_b')).toEqual({
      approved: true,
      requestedBy: 'api:key_a',
    });
  });

  it('uses a request up with the erasure it led to, and lets requests expire after a day', async () => {
    const target = 'user:feishu:ou_once';
    await approveErasure(database.db, target, 'api:key_a');
    await appendAudit(database.db, { actor: 'api:key_b', action: ERASURE_ACTION, target });
    expect(await approveErasure(database.db, target, 'api:key_c')).toMatchObject({ approved: false });
    const tomorrow = new Date(Date.now() + 25 * 3_600_000);
    expect(await approveErasure(database.db, target, 'api:key_d', tomorrow)).toMatchObject({ approved: false });
    expect(await verifyAuditChain(database.db)).toMatchObject({ ok: true });
  });
});
