// The built-in tools that reach beyond the model on the real pipeline: memory_search over the conversation's
// stored history, schedule_reminder starting the durable reminder workflow, and the HTTP tools (http_get runs
// at once, http_request waits for a second person's approval).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../api/admin-keys.js';
import { jobs, replyOutbox, runs } from '../db/schema.js';
import type { RunStatus } from '../runs/contract.js';
import { createScheduleReminderTool } from '../tools/builtin/schedule-reminder.js';
import { type FakeLlm, startFakeLlm } from './fakes/openai-compatible.js';
import { eventually, startTestPlatform, type TestPlatform } from './support/platform.js';

let platform: TestPlatform;
let llm: FakeLlm;
let web: Server;
let webOrigin: string;
const webHits: Array<{ method: string; url: string; body: string }> = [];

beforeAll(async () => {
  web = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    webHits.push({ method: req.method ?? '', url: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
  });
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  webOrigin = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
  llm = await startFakeLlm();
  platform = await startTestPlatform({
    LLM_BASE_URL: llm.baseUrl,
    LLM_MODEL: 'fake-model',
    LLM_TIMEOUT_MS: '5000',
    APPROVAL_TIMEOUT_MS: '20000',
    TOOLS_HTTP_ALLOWED_HOSTS: '127.0.0.1',
  });
});
afterAll(async () => {
  await platform?.stop();
  await llm?.close();
  await new Promise((resolve) => web?.close(resolve));
});

let sequence = 0;
/** Sends as the platform's admin key acting for `sender`, or as `key` itself (a second credential). */
async function send(text: string, sender: string, conversation: string, key?: string): Promise<string> {
  const response = await platform.api('/v1/messages', {
    method: 'POST',
    ...(key ? { headers: { authorization: `Bearer ${key}` } } : {}),
    body: JSON.stringify({
      message_id: `tb-${Date.now()}-${sequence++}`,
      conversation_id: conversation,
      ...(key ? {} : { sender: { id: sender } }),
      text,
    }),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { workflowId: string }).workflowId;
}
const result = async (workflowId: string) =>
  (await platform.temporal.workflow.getHandle(workflowId).result()) as RunStatus;
const intent = { json: { intent: 'task', confidence: 0.9, reason: 'scripted' } };

describe('memory_search', () => {
  it('finds what was said earlier in this conversation, and nothing from another', async () => {
    llm.script(intent, { text: 'Noted.' });
    await result(await send('Remember: the wifi password is hunter2', 'ann', 'mem-a'));
    llm.script(intent, { text: 'Noted.' });
    await result(await send('Our wifi password is secret-b', 'bob', 'mem-b'));

    llm.script(
      intent,
      { toolCalls: [{ id: 'ms', name: 'memory_search', arguments: { query: 'wifi password' } }] },
      { text: 'It is hunter2.' },
    );
    const run = await result(await send('what was the wifi password again?', 'ann', 'mem-a'));
    expect(run.toolCalls[0]).toMatchObject({ name: 'memory_search', ok: true });
    const found = run.toolCalls[0]!.result;
    expect(found).toContain('Remember: the wifi password is hunter2');
    expect(found).not.toContain('secret-b');
    // The asking message itself is not a match.
    expect(found).not.toContain('again?');
  });
});

describe('schedule_reminder', () => {
  it('schedules a reminder from a tool call that is delivered to the conversation when due', async () => {
    llm.script(
      intent,
      { toolCalls: [{ id: 'rem', name: 'schedule_reminder', arguments: { text: 'stretch', delay: '2s' } }] },
      { text: 'I will remind you in 2 seconds.' },
    );
    const workflowId = await send('remind me in 2 seconds to stretch', 'rita', 'rem-a');
    const run = await result(workflowId);
    expect(run.toolCalls[0]).toMatchObject({ name: 'schedule_reminder', ok: true });
    const { jobId } = JSON.parse(run.toolCalls[0]!.result) as { jobId: string };
    expect(jobId).toMatch(/^r-[0-9a-f]{8}$/);

    const [runRow] = await platform.database.db.select().from(runs).where(eq(runs.workflowId, workflowId));
    expect(runRow?.replyTarget).toEqual({ channel: 'api', data: {} });

    expect(await platform.temporal.workflow.getHandle(`reminder:${jobId}`).result()).toBe('delivered');
    const sent = await platform.database.db
      .select()
      .from(replyOutbox)
      .where(eq(replyOutbox.key, `reminder:${jobId}`));
    expect(sent).toMatchObject([{ status: 'sent', kind: 'reminder', text: '⏰ Reminder: stretch' }]);
    const [job] = await platform.database.db.select().from(jobs).where(eq(jobs.id, jobId));
    expect(job).toMatchObject({ kind: 'reminder', ownerId: 'rita', conversationId: 'api:rem-a', status: 'done' });
  });

  it('schedules once when the same call is retried, and the owner can cancel it with /cancel', async () => {
    const tool = createScheduleReminderTool({
      db: platform.database.db,
      metrics: platform.metrics,
      temporal: platform.temporal,
      taskQueue: platform.config.temporal.taskQueue,
    });
    const ctx = {
      runId: `message:api:retry-${Date.now()}`,
      callId: 'call_retry',
      channel: 'api',
      conversationId: 'api:rem-b',
      userId: 'sam',
      replyTarget: { channel: 'api', data: {} },
    };
    const first = (await tool.run({ text: 'water the plants', delay: '1h' }, ctx)) as { jobId: string };
    const again = (await tool.run({ text: 'water the plants', delay: '1h' }, ctx)) as { jobId: string };
    expect(again.jobId).toBe(first.jobId);
    const rows = await platform.database.db
      .select()
      .from(jobs)
      .where(and(eq(jobs.ownerId, 'sam'), eq(jobs.kind, 'reminder')));
    expect(rows.map((row) => row.id)).toEqual([first.jobId]);

    const cancelled = await result(await send(`/cancel ${first.jobId}`, 'sam', 'rem-b'));
    expect(cancelled.reply).toBe(`Cancelled ${first.jobId}.`);
    expect(await platform.temporal.workflow.getHandle(`reminder:${first.jobId}`).result()).toBe('cancelled');
  });
});

describe('HTTP tools', () => {
  it('runs http_get at once, and http_request only after a second person approves', async () => {
    llm.script(
      intent,
      { toolCalls: [{ id: 'g', name: 'http_get', arguments: { url: `${webOrigin}/status` } }] },
      {
        toolCalls: [
          {
            id: 'p',
            name: 'http_request',
            arguments: { method: 'POST', url: `${webOrigin}/orders`, json: { item: 'tea' } },
          },
        ],
      },
    );
    // A second person is a second credential: a member asks, the admin key approves.
    const hal = await createApiKey(platform.database.db, `tb-hal-${Date.now()}`, 'member');
    const workflowId = await send('check the status and order tea', 'hal', 'http', hal.key);
    const jobId = await eventually(
      async () =>
        (await platform.temporal.workflow.getHandle(workflowId).query<RunStatus>('status')).pendingApproval?.jobId,
      30_000,
      'a pending approval',
    );
    expect(webHits.map((hit) => `${hit.method} ${hit.url}`)).toEqual(['GET /status']);
    llm.script({ text: 'Ordered tea.' });
    await result(await send(`/approve ${jobId}`, 'boss', 'http'));
    const run = await result(workflowId);
    expect(run.toolCalls.map((call) => [call.name, call.ok])).toEqual([
      ['http_get', true],
      ['http_request', true],
    ]);
    expect(webHits.at(-1)).toEqual({ method: 'POST', url: '/orders', body: '{"item":"tea"}' });
  });
});
