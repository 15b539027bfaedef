// Metrics of processes in their deployment roles: a worker-only process serves /metrics, /healthz and /readyz
// on METRICS_PORT; the pending-jobs gauge starts from the jobs table rather than from zero; METRICS_ENABLED
// turns the endpoints off.
import { randomUUID } from 'node:crypto';
import { and, count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobs } from '../db/schema.js';
import { freePort } from '../platform/free-port.js';
import { startTestPlatform, type TestPlatform } from './support/platform.js';

let api: TestPlatform;

beforeAll(async () => {
  api = await startTestPlatform({}, { worker: false });
});
afterAll(async () => {
  await api?.stop();
});

function gaugeValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics by process role', () => {
  it('a worker-only process serves /metrics, /healthz and /readyz on METRICS_PORT', async () => {
    const port = await freePort();
    const worker = await startTestPlatform({ METRICS_PORT: String(port) }, { api: false });
    try {
      expect(worker.metricsUrl).toBe(`http://127.0.0.1:${port}/metrics`);
      const metrics = await fetch(worker.metricsUrl!);
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toContain('text/plain');
      const text = await metrics.text();
      expect(text).toContain('# TYPE conduit_pipeline_step_duration_seconds histogram');
      expect(text).toMatch(/^conduit_nodejs_eventloop_lag_seconds \d/m);
      expect(text).toMatch(/^conduit_data_dir_disk_used_ratio 0\.\d+/m);
      expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()).toEqual({ status: 'ok' });
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/v1/messages`)).status).toBe(404);
    } finally {
      await worker.stop();
    }
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  it('starts conduit_pending_jobs from the pending rows of the jobs table', async () => {
    const base = {
      workflowId: `ops-${randomUUID()}`,
      channel: 'api',
      conversationId: 'api:ops',
      ownerId: 'ops-user',
      summary: 'seeded by ops-metrics',
    };
    await api.database.db.insert(jobs).values([
      { ...base, id: randomUUID(), kind: 'reminder' },
      { ...base, id: randomUUID(), kind: 'reminder' },
      { ...base, id: randomUUID(), kind: 'approval' },
      { ...base, id: randomUUID(), kind: 'approval', status: 'done' },
    ]);
    const pendingOf = async (kind: 'reminder' | 'approval') => {
      const [row] = await api.database.db
        .select({ pending: count() })
        .from(jobs)
        .where(and(eq(jobs.status, 'pending'), eq(jobs.kind, kind)));
      return row!.pending;
    };

    const fresh = await startTestPlatform({}, { worker: false });
    try {
      const text = await (await fetch(fresh.metricsUrl!)).text();
      const reminders = await pendingOf('reminder');
      const approvals = await pendingOf('approval');
      expect(reminders).toBeGreaterThanOrEqual(2);
      expect(approvals).toBeGreaterThanOrEqual(1);
      expect(gaugeValue(text, 'conduit_pending_jobs{kind="reminder"}')).toBe(reminders);
      expect(gaugeValue(text, 'conduit_pending_jobs{kind="approval"}')).toBe(approvals);
    } finally {
      await fresh.stop();
    }
  });

  it('METRICS_ENABLED=false serves no /metrics on the API and opens no METRICS_PORT on a worker', async () => {
    const quietApi = await startTestPlatform({ METRICS_ENABLED: 'false' }, { worker: false });
    const port = await freePort();
    const quietWorker = await startTestPlatform(
      { METRICS_ENABLED: 'false', METRICS_PORT: String(port) },
      { api: false },
    );
    try {
      expect(quietApi.metricsUrl).toBeUndefined();
      expect((await fetch(`${quietApi.apiUrl}/metrics`)).status).toBe(404);
      expect((await fetch(`${quietApi.apiUrl}/healthz`)).status).toBe(200);
      expect(quietWorker.metricsUrl).toBeUndefined();
      await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
    } finally {
      await quietWorker.stop();
      await quietApi.stop();
    }
  });
});
