// The audit log on real PostgreSQL: writers in two "processes" (two connection pools) appending at once still
// form one gapless chain; a tampered row is reported by verifyAuditChain, by POST /v1/audit/verify and by the
// conduit_audit_chain_valid metric; GET /v1/audit filters and pages, for admins only.
import { asc, desc, eq, gt } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { appendAudit, verifyAuditChain } from '../audit/chain.js';
import { type DatabaseHandle, openDatabase } from '../db/client.js';
import { auditLog } from '../db/schema.js';
import { startTestPlatform, type TestPlatform } from './support/platform.js';

let platform: TestPlatform;
let otherProcess: DatabaseHandle;
const run = `t${Date.now().toString(36)}`;

beforeAll(async () => {
  platform = await startTestPlatform({}, { worker: false });
  otherProcess = await openDatabase({ kind: 'postgres', url: inject('databaseUrl') }, { maxConnections: 10 });
});
afterAll(async () => {
  await otherProcess?.close();
  await platform?.stop();
});

const headSequence = async () => {
  const [row] = await platform.database.db
    .select({ sequence: auditLog.sequence })
    .from(auditLog)
    .orderBy(desc(auditLog.sequence))
    .limit(1);
  return row?.sequence ?? 0;
};

const metricValue = async (name: string) => {
  const text = await (await fetch(`${platform.apiUrl}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
};

describe('the audit chain on PostgreSQL', () => {
  it('stays one gapless chain when two processes append concurrently', async () => {
    const before = await headSequence();
    await Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        appendAudit(index % 2 === 0 ? platform.database.db : otherProcess.db, {
          actor: `test:${run}:${index % 2 === 0 ? 'a' : 'b'}`,
          action: 'test.concurrent',
          target: `${run}-${index}`,
          detail: { index },
        }),
      ),
    );
    const rows = await platform.database.db
      .select()
      .from(auditLog)
      .where(gt(auditLog.sequence, before))
      .orderBy(asc(auditLog.sequence));
    const ours = rows.filter((row) => row.actor.startsWith(`test:${run}:`));
    expect(ours).toHaveLength(40);
    expect(rows.map((row) => row.sequence)).toEqual(rows.map((_, index) => before + index + 1));
    for (let index = 1; index < rows.length; index += 1) expect(rows[index]!.prevHash).toBe(rows[index - 1]!.hash);
    expect(await verifyAuditChain(platform.database.db)).toMatchObject({ ok: true });
  });

  it('reports a tampered row through verifyAuditChain, POST /v1/audit/verify and the metric', async () => {
    const { sequence } = await appendAudit(platform.database.db, {
      actor: `test:${run}`,
      action: 'test.tamper_target',
      detail: { amount: 100 },
    });
    await appendAudit(platform.database.db, { actor: `test:${run}`, action: 'test.after_tamper_target' });
    expect((await (await platform.api('/v1/audit/verify', { method: 'POST' })).json()).ok).toBe(true);
    expect(await metricValue('conduit_audit_chain_valid')).toBe(1);

    await platform.database.db
      .update(auditLog)
      .set({ detail: { amount: 1 } })
      .where(eq(auditLog.sequence, sequence));
    try {
      expect(await verifyAuditChain(platform.database.db)).toMatchObject({ ok: false, firstBadSequence: sequence });
      const response = await platform.api('/v1/audit/verify', { method: 'POST' });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ ok: false, firstBadSequence: sequence });
      expect(await metricValue('conduit_audit_chain_valid')).toBe(0);
      expect(await metricValue('conduit_audit_chain_last_check_timestamp_seconds')).toBeGreaterThan(
        Date.now() / 1000 - 60,
      );
    } finally {
      // Other test files share this database: put the row back as it was written.
      await platform.database.db
        .update(auditLog)
        .set({ detail: { amount: 100 } })
        .where(eq(auditLog.sequence, sequence));
    }
    expect((await (await platform.api('/v1/audit/verify', { method: 'POST' })).json()).ok).toBe(true);
    expect(await metricValue('conduit_audit_chain_valid')).toBe(1);
  });

  it('reports a deleted row at its sequence', async () => {
    const { sequence } = await appendAudit(platform.database.db, { actor: `test:${run}`, action: 'test.to_delete' });
    await appendAudit(platform.database.db, { actor: `test:${run}`, action: 'test.after_delete' });
    const [row] = await platform.database.db.select().from(auditLog).where(eq(auditLog.sequence, sequence));
    await platform.database.db.delete(auditLog).where(eq(auditLog.sequence, sequence));
    try {
      expect(await verifyAuditChain(platform.database.db)).toMatchObject({
        ok: false,
        firstBadSequence: sequence,
        reason: `row ${sequence} is missing`,
      });
    } finally {
      await platform.database.db.insert(auditLog).values(row!);
    }
    expect(await verifyAuditChain(platform.database.db)).toMatchObject({ ok: true });
  });
});

describe('GET /v1/audit', () => {
  it('lists entries newest first, filtered by action and actor, in pages', async () => {
    for (let index = 0; index < 5; index += 1) {
      await appendAudit(platform.database.db, { actor: `test:${run}:pager`, action: 'test.page', detail: { index } });
    }
    const first = await platform.api(`/v1/audit?action=test.page&actor=test:${run}:pager&limit=3`);
    expect(first.status).toBe(200);
    const page = (await first.json()) as {
      entries: Array<{ sequence: number; detail: { index: number } }>;
      next?: number;
    };
    expect(page.entries.map((entry) => entry.detail.index)).toEqual([4, 3, 2]);
    expect(page.next).toBe(page.entries[2]!.sequence);
    const second = (await (
      await platform.api(`/v1/audit?action=test.page&actor=test:${run}:pager&limit=3&before=${page.next}`)
    ).json()) as typeof page;
    expect(second.entries.map((entry) => entry.detail.index)).toEqual([1, 0]);
    expect(second.next).toBeUndefined();
    const future = (await (
      await platform.api(`/v1/audit?action=test.page&since=2999-01-01T00:00:00Z`)
    ).json()) as typeof page;
    expect(future.entries).toEqual([]);
    expect((await platform.api('/v1/audit?since=yesterday')).status).toBe(400);
  });

  it('shows key management and schedule changes with the admin who made them, and refuses a viewer', async () => {
    const created = await platform.api('/v1/keys', {
      method: 'POST',
      body: JSON.stringify({ name: `viewer-${run}`, role: 'viewer' }),
    });
    expect(created.status).toBe(201);
    const viewer = (await created.json()) as { id: string; key: string };
    const schedule = await platform.api('/v1/schedules', {
      method: 'POST',
      body: JSON.stringify({
        intervalSeconds: 3600,
        conversation_id: `audit-${run}`,
        sender: { id: 'ops' },
        text: '/time',
      }),
    });
    expect(schedule.status).toBe(201);
    const { id: scheduleId } = (await schedule.json()) as { id: string };
    expect((await platform.api(`/v1/schedules/${scheduleId}`, { method: 'DELETE' })).status).toBe(200);

    const admin = 'api:env:CONDUIT_ADMIN_API_KEY';
    const entries = async (action: string, target: string) =>
      (
        (await (await platform.api(`/v1/audit?action=${action}&actor=${admin}`)).json()) as {
          entries: Array<{ target: string; actor: string; outcome: string; detail: unknown }>;
        }
      ).entries.filter((entry) => entry.target === target);
    expect(await entries('api_key.create', viewer.id)).toMatchObject([
      { actor: admin, outcome: 'success', detail: { name: `viewer-${run}`, role: 'viewer' } },
    ]);
    expect(await entries('schedule.create', scheduleId)).toMatchObject([
      { detail: { intervalSeconds: 3600, conversationId: `audit-${run}`, senderId: 'ops' } },
    ]);
    expect(await entries('schedule.delete', scheduleId)).toHaveLength(1);

    const asViewer = (path: string, method = 'GET') =>
      fetch(`${platform.apiUrl}${path}`, { method, headers: { authorization: `Bearer ${viewer.key}` } });
    const refused = await asViewer('/v1/audit');
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({
      error: { code: 'forbidden', message: 'role viewer lacks the audit:read permission' },
    });
    expect((await asViewer('/v1/audit/verify', 'POST')).status).toBe(403);
    expect((await asViewer('/v1/privacy/users/api/someone/export')).status).toBe(403);
  });
});
