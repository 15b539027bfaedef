// Durability with real process kills: worker processes (`npm run worker`'s entry) are SIGKILLed mid-run and
// replaced; runs and reminders still complete, each with exactly one reply.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { messages, replyOutbox, runEvents } from '../db/schema.js';
import { messageWorkflowId, type RunStatus } from '../runs/contract.js';
import { formatKey, generateKey } from '../security/key-list.js';
import { type FakeLlm, startFakeLlm } from './fakes/openai-compatible.js';
import { postSignedWebhook } from './support/fault-load.js';
import { eventually, startTestPlatform, type TestPlatform } from './support/platform.js';
import { workerProcesses } from './support/worker-process.js';

const taskQueue = `crash-${Date.now()}`;
// API and worker processes must share the payload and master keys to read each other's runs.
const sharedKeys = {
  CONDUIT_PAYLOAD_KEYS: formatKey(generateKey('payload')),
  // The custom channel, whose replies reach this file's callback receiver (on loopback).
  CUSTOM_WEBHOOK_SECRET: `whsec_crash_${randomBytes(6).toString('hex')}`,
  CUSTOM_CALLBACK_ALLOWED_HOSTS: '127.0.0.1',
};
let api: TestPlatform;
let llm: FakeLlm;
let dataDir: string;

const workers = workerProcesses(() => ({
  TEMPORAL_TASK_QUEUE: taskQueue,
  CONDUIT_DATA_DIR: dataDir,
  LLM_BASE_URL: llm.baseUrl,
  LLM_MODEL: 'fake-model',
  LLM_TIMEOUT_MS: '2000',
  ...sharedKeys,
}));
const startWorkerProcess = () => workers.start();
const kill = (child: ChildProcess) => workers.stop(child, 'SIGKILL');

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'conduit-crash-'));
  llm = await startFakeLlm();
  api = await startTestPlatform({ TEMPORAL_TASK_QUEUE: taskQueue, ...sharedKeys }, { worker: false });
});
afterEach(async () => {
  await workers.killAll();
});
afterAll(async () => {
  await api?.stop();
  await llm?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function send(text: string, sender = 'dora') {
  const response = await api.api('/v1/messages', {
    method: 'POST',
    body: JSON.stringify({ conversation_id: 'crash', sender: { id: sender }, text }),
  });
  return ((await response.json()) as { workflowId: string }).workflowId;
}

describe('a worker process killed mid-run', () => {
  it('completes the run once on a restarted worker, with one reply', async () => {
    const first = await startWorkerProcess();
    const before = llm.requests.length;
    llm.script(
      { json: { intent: 'question', confidence: 0.8, reason: 'scripted' } },
      // The first planning call hangs; its worker dies while waiting for it.
      { text: 'never delivered', delayMs: 30_000 },
      { text: 'Survived the crash.' },
    );
    const workflowId = await send('are you durable?');
    await eventually(async () => (llm.requests.length >= before + 2 ? true : undefined), 20_000, 'the planning call');
    await kill(first);

    await startWorkerProcess();
    const run = (await api.temporal.workflow.getHandle(workflowId).result()) as RunStatus;
    expect(run).toMatchObject({ reply: 'Survived the crash.', outcome: 'replied' });
    const replies = await api.database.db
      .select()
      .from(replyOutbox)
      .where(and(eq(replyOutbox.workflowId, workflowId), eq(replyOutbox.kind, 'final')));
    expect(replies).toMatchObject([{ status: 'sent', attempts: 1 }]);
    const replyEvents = await api.database.db
      .select()
      .from(runEvents)
      .where(and(eq(runEvents.workflowId, workflowId), eq(runEvents.type, 'reply')));
    expect(replyEvents).toHaveLength(1);
  });

  it('sends a reply once when its worker dies after recording it and before sending it', async () => {
    // The platform's side: counts the replies each inbound message receives.
    const replies = new Map<string, number>();
    const receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      request.on('end', () => {
        const callback = JSON.parse(body) as { in_reply_to: string; kind: string };
        if (callback.kind === 'reply') replies.set(callback.in_reply_to, (replies.get(callback.in_reply_to) ?? 0) + 1);
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const messageId = `crash-reply-${randomBytes(4).toString('hex')}`;
    const stall = `conduit_stall_${randomBytes(4).toString('hex')}`;
    // Holds the first attempt in the outbox after the reply is recorded and before it leaves (in the update that
    // claims the row for sending), until the worker is killed there; the test then cancels the held statement, so
    // the row stays pending and unclaimed, as when a worker dies just before its claim commits.
    await api.database.db.execute(
      sql.raw(`
      create sequence ${stall}_seq;
      create function ${stall}() returns trigger language plpgsql as $$
      begin
        -- Once only (a sequence is not rolled back with the cancelled statement): the next worker's claim passes.
        if new.workflow_id like '%${messageId}%' and old.attempts = 0 then
          if nextval('${stall}_seq') = 1 then perform pg_sleep(60); end if;
        end if;
        return new;
      end $$;
      create trigger ${stall} before update on reply_outbox for each row execute function ${stall}();
    `),
    );
    try {
      const first = await startWorkerProcess();
      const body = JSON.stringify({
        message_id: messageId,
        conversation_id: 'crash-reply',
        sender: { id: 'dora' },
        text: '/echo said once',
        callback_url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/replies`,
      });
      const accepted = await postSignedWebhook(api.apiUrl, sharedKeys.CUSTOM_WEBHOOK_SECRET, body);
      expect(accepted.status).toBe(202);
      const workflowId = messageWorkflowId('custom', messageId);
      const held = sql`select pid from pg_stat_activity
        where datname = current_database() and wait_event = 'PgSleep' and query ilike '%reply_outbox%'`;
      await eventually(
        async () => (((await api.database.db.execute(held)) as unknown[]).length > 0 ? true : undefined),
        20_000,
        'the first send attempt held after the reply was recorded',
      );
      await kill(first);
      await api.database.db.execute(sql`select pg_cancel_backend(pid) from (${held}) as stalled`);
      expect(replies.get(messageId) ?? 0).toBe(0);
      const [pending] = await api.database.db.select().from(replyOutbox).where(eq(replyOutbox.workflowId, workflowId));
      expect(pending).toMatchObject({ status: 'pending' });

      await startWorkerProcess();
      const run = (await api.temporal.workflow.getHandle(workflowId).result()) as RunStatus;
      expect(run).toMatchObject({ reply: 'said once', outcome: 'replied' });
      expect(replies.get(messageId)).toBe(1);
      const outbox = await api.database.db.select().from(replyOutbox).where(eq(replyOutbox.workflowId, workflowId));
      expect(outbox).toMatchObject([{ kind: 'final', status: 'sent' }]);
      const recorded = await api.database.db
        .select()
        .from(messages)
        .where(and(eq(messages.workflowId, workflowId), eq(messages.direction, 'out')));
      expect(recorded).toHaveLength(1);
    } finally {
      await api.database.db.execute(sql.raw(`drop trigger if exists ${stall} on reply_outbox`));
      await api.database.db.execute(sql.raw(`drop function if exists ${stall}()`));
      await api.database.db.execute(sql.raw(`drop sequence if exists ${stall}_seq`));
      receiver.closeAllConnections();
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  }, 120_000);

  it('delivers a reminder that fell due while no worker was running', async () => {
    const first = await startWorkerProcess();
    const workflowId = await send('/remind 2s check the oven');
    const scheduled = (await api.temporal.workflow.getHandle(workflowId).result()) as RunStatus;
    const jobId = /Job id: (r-[\w-]+)/.exec(scheduled.reply ?? '')?.[1];
    expect(jobId).toBeDefined();
    await kill(first);
    // Let the reminder fall due with nobody to run it.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await startWorkerProcess();
    expect(await api.temporal.workflow.getHandle(`reminder:${jobId}`).result()).toBe('delivered');
    const sent = await api.database.db
      .select()
      .from(replyOutbox)
      .where(eq(replyOutbox.key, `reminder:${jobId}`));
    expect(sent).toMatchObject([{ status: 'sent', attempts: 1 }]);
  });
});
