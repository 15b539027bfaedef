// The foundation end to end on real Temporal, PostgreSQL and MinIO: health, readiness, and a message posted
// through the API travelling the whole pipeline once.
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestPlatform, type TestPlatform } from './support/platform.js';

let platform: TestPlatform;

beforeAll(async () => {
  platform = await startTestPlatform();
});
afterAll(async () => {
  await platform?.stop();
});

async function postMessage(body: Record<string, unknown>) {
  const response = await platform.api('/v1/messages', { method: 'POST', body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function finishedRun(workflowId: string) {
  return eventually(
    async () => {
      const response = await platform.api(`/v1/runs/${encodeURIComponent(workflowId)}`);
      const body = (await response.json()) as { state: string; status?: { reply?: string; outcome?: string } };
      return body.state === 'COMPLETED' ? body : undefined;
    },
    30_000,
    `run ${workflowId} to complete`,
  );
}

describe('the platform', () => {
  it('is alive and ready when Temporal, PostgreSQL and MinIO answer', async () => {
    expect((await fetch(`${platform.apiUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${platform.apiUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', failed: [] });
    expect(platform.database.kind).toBe('postgres');
    expect(platform.blobs.kind).toBe('s3');
  });

  it('refuses the management API without a valid key', async () => {
    const missing = await fetch(`${platform.apiUrl}/v1/jobs?owner=a&channel=api`);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ error: { code: 'unauthorized', message: 'missing bearer token' } });
    const wrong = await fetch(`${platform.apiUrl}/v1/jobs?owner=a&channel=api`, {
      headers: { authorization: 'Bearer nope' },
    });
    expect(wrong.status).toBe(401);
  });

  it('runs a message through the pipeline and answers a redelivery with the same run', async () => {
    const messageId = `m-${Date.now()}`;
    const body = {
      message_id: messageId,
      conversation_id: 'c1',
      sender: { id: 'u1', name: 'Ann' },
      text: '/echo hello there',
    };
    const first = await postMessage(body);
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ workflowId: `message:api:${messageId}`, duplicate: false });
    const run = await finishedRun(String(first.body.workflowId));
    expect(run.status).toMatchObject({
      reply: 'hello there',
      outcome: 'replied',
      intent: { name: 'command:echo', source: 'command' },
    });

    const again = await postMessage(body);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ workflowId: first.body.workflowId, runId: first.body.runId, duplicate: true });
  });

  it('answers free text without a model with the list of commands', async () => {
    const { body } = await postMessage({ conversation_id: 'c2', sender: { id: 'u2' }, text: 'what can you do?' });
    const run = await finishedRun(String(body.workflowId));
    expect(run.status?.reply).toContain('No language model is configured');
    expect(run.status?.reply).toContain('/remind');
  });

  it('rejects a malformed message with a clear error naming the field', async () => {
    const response = await platform.api('/v1/messages', {
      method: 'POST',
      body: JSON.stringify({ conversation_id: 'c', text: '' }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('bad_request');
    expect(body.error.message).toMatch(/^text/);
    const broken = await platform.api('/v1/messages', { method: 'POST', body: '{"conversation_id":' });
    expect(broken.status).toBe(400);
  });

  it('exposes Prometheus metrics after traffic', async () => {
    const text = await (await fetch(`${platform.apiUrl}/metrics`)).text();
    expect(text).toMatch(
      /conduit_http_request_duration_seconds_count\{method="POST",route="\/v1\/messages",status="202"\} \d+/,
    );
    expect(text).toMatch(/conduit_runs_started_total\{channel="api"\} [1-9]/);
    expect(text).toContain('conduit_process_resident_memory_bytes');
  });
});

describe('readiness', () => {
  it('answers 503 naming the object store when it cannot be reached', async () => {
    const local = await startTestPlatform({}, { storage: 'filesystem', worker: false });
    try {
      await rm(local.config.dataDir, { recursive: true, force: true });
      const response = await fetch(`${local.apiUrl}/readyz`);
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ status: 'unavailable', failed: ['objectStore'] });
    } finally {
      await local.stop();
    }
  });
});
