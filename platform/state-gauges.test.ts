import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../core/metrics.js';
import { type DatabaseHandle, openDatabase } from '../db/client.js';
import { jobs } from '../db/schema.js';
import { createLogger } from '../pii/logger.js';
import { startStateGauges } from './state-gauges.js';

let dir: string;
let database: DatabaseHandle;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conduit-state-gauges-'));
  database = await openDatabase({ kind: 'pglite', dir: join(dir, 'pglite') });
}, 60_000);
afterAll(async () => {
  await database?.close();
  await rm(dir, { recursive: true, force: true });
});

const gaugeValue = async (
  gauge: { get(): Promise<{ values: Array<{ value: number; labels: object }> }> },
  labels = {},
) => (await gauge.get()).values.find((value) => JSON.stringify(value.labels) === JSON.stringify(labels))?.value;

describe('state gauges', () => {
  it('read the data directory file system before returning', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const gauges = await startStateGauges(metrics, { dataDir: dir, db: database.db, logger: createLogger('silent') });
    gauges.stop();
    const ratio = await gaugeValue(metrics.dataDirDiskUsedRatio);
    expect(ratio).toBeGreaterThan(0);
    expect(ratio).toBeLessThan(1);
    const used = (await gaugeValue(metrics.dataDirDiskUsedBytes))!;
    const available = (await gaugeValue(metrics.dataDirDiskAvailableBytes))!;
    expect(used).toBeGreaterThan(0);
    expect(ratio).toBeCloseTo(used / (used + available), 6);
  });

  it('count pending jobs by kind from the table, and drop a kind to 0 when its last job is done', async () => {
    const base = { workflowId: 'w', channel: 'api', conversationId: 'c', ownerId: 'u', summary: 's' };
    const reminder = randomUUID();
    await database.db.insert(jobs).values([
      { ...base, id: reminder, kind: 'reminder' },
      { ...base, id: randomUUID(), kind: 'approval' },
      { ...base, id: randomUUID(), kind: 'approval' },
      { ...base, id: randomUUID(), kind: 'approval', status: 'rejected' },
    ]);
    const metrics = createMetrics({ defaultMetrics: false });
    const gauges = await startStateGauges(metrics, { dataDir: dir, db: database.db, logger: createLogger('silent') });
    gauges.stop();
    expect(await gaugeValue(metrics.pendingJobs, { kind: 'reminder' })).toBe(1);
    expect(await gaugeValue(metrics.pendingJobs, { kind: 'approval' })).toBe(2);

    await database.db.update(jobs).set({ status: 'done' }).where(eq(jobs.id, reminder));
    await gauges.refresh();
    expect(await gaugeValue(metrics.pendingJobs, { kind: 'reminder' })).toBe(0);
  });

  it('keep going when the data directory cannot be read', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const gauges = await startStateGauges(metrics, {
      dataDir: join(dir, 'missing'),
      db: database.db,
      logger: createLogger('silent'),
    });
    gauges.stop();
    expect(await gaugeValue(metrics.dataDirDiskUsedRatio)).toBe(0);
  });
});
