// Records one real history per workflow path into this folder, for the replay test (../workflow-replay.test.ts):
// each scenario runs on the real dev server with a scripted model, then the finished workflow's history is
// saved as JSON. Run it (`npm run histories:record`) after a workflow change that is meant to be incompatible,
// never to make a failing replay pass. Payloads are encrypted with the test-only key of payload-key.ts.
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { createApiKey } from '../../api/admin-keys.js';
import type { RunStatus } from '../../runs/contract.js';
import type { ToolDefinition } from '../../tools/types.js';
import { type FakeLlm, startFakeLlm } from '../fakes/openai-compatible.js';
import { eventually, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { HISTORY_JSON, HISTORY_PAYLOAD_KEYS } from './payload-key.js';

const folder = fileURLToPath(new URL('.', import.meta.url));
let platform: TestPlatform;
let llm: FakeLlm;

/** A sensitive tool, so runs that call it wait for an approval. */
const transferTool: ToolDefinition<{ to: string; amount: number }> = {
  name: 'transfer_funds',
  description: 'Transfer money to an account',
  parameters: {
    type: 'object',
    properties: { to: { type: 'string' }, amount: { type: 'number' } },
    required: ['to', 'amount'],
  },
  inputSchema: z.object({ to: z.string(), amount: z.number() }),
  sensitive: true,
  timeoutMs: 5_000,
  async run() {
    return { ok: true, reference: 'tx-1' };
  },
};

beforeAll(async () => {
  llm = await startFakeLlm({ apiKey: 'sk-histories' });
  platform = await startTestPlatform(
    {
      CONDUIT_PAYLOAD_KEYS: HISTORY_PAYLOAD_KEYS,
      LLM_BASE_URL: llm.baseUrl,
      LLM_API_KEY: 'sk-histories',
      LLM_MODEL: 'fake-model',
      LLM_TIMEOUT_MS: '5000',
      LLM_CACHE_TTL_SECONDS: '0',
      APPROVAL_TIMEOUT_MS: '2000',
      PIPELINE_PROGRESS_DELAY_MS: '60000',
      CHANNEL_DENY_USERS: 'api:mallory',
    },
    { tools: [transferTool as ToolDefinition] },
  );
});
afterAll(async () => {
  await platform?.stop();
  await llm?.close();
});

let sequence = 0;
/** Sends as the platform's admin key acting for `sender`, or as `key` itself (a second credential). */
async function send(text: string, sender: string, conversation: string, key?: string): Promise<string> {
  const response = await platform.api('/v1/messages', {
    method: 'POST',
    ...(key ? { headers: { authorization: `Bearer ${key}` } } : {}),
    body: JSON.stringify({
      message_id: `h-${Date.now()}-${sequence++}`,
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

/** Waits for the workflow to finish and writes its history as `<name>.json`. */
async function save(name: string, workflowId: string): Promise<void> {
  await platform.temporal.workflow.getHandle(workflowId).result();
  const history = await platform.temporal.workflow.getHandle(workflowId).fetchHistory();
  const json = temporal.api.history.v1.History.toObject(
    temporal.api.history.v1.History.fromObject(history),
    HISTORY_JSON,
  );
  await writeFile(`${folder}${name}.json`, `${JSON.stringify(json, null, 1)}\n`);
}

const intent = (name: string) => ({ json: { intent: name, confidence: 0.9, reason: 'scripted' } });

it('handleMessage: a command', async () => {
  const workflowId = await send('/echo recorded', 'alice', 'h-command');
  expect((await result(workflowId)).reply).toBe('recorded');
  await save('handle-message-command', workflowId);
});

it('handleMessage: a refused sender', async () => {
  const workflowId = await send('hello', 'mallory', 'h-refused');
  expect((await result(workflowId)).outcome).toBe('refused');
  await save('handle-message-refused', workflowId);
});

it('handleMessage: /remind, and the reminder delivered', async () => {
  const workflowId = await send('/remind 1s stretch', 'alice', 'h-remind');
  const jobId = /Job id: (r-[0-9a-f]+)/.exec((await result(workflowId)).reply ?? '')?.[1];
  expect(jobId).toBeDefined();
  await save('handle-message-remind', workflowId);
  await save('reminder-delivered', `reminder:${jobId}`);
});

it('reminder: cancelled by its owner', async () => {
  const run = await result(await send('/remind 1h call back', 'alice', 'h-remind-cancel'));
  const jobId = /Job id: (r-[0-9a-f]+)/.exec(run.reply ?? '')?.[1];
  const cancel = await send(`/cancel ${jobId}`, 'alice', 'h-remind-cancel');
  expect((await result(cancel)).reply).toBe(`Cancelled ${jobId}.`);
  await save('handle-message-cancel', cancel);
  await save('reminder-cancelled', `reminder:${jobId}`);
});

it('handleMessage: a model run with a tool', async () => {
  llm.script(
    intent('task'),
    { toolCalls: [{ id: 'call_1', name: 'calculator', arguments: { expression: '6 * 7' } }] },
    { text: 'The answer is 42.' },
  );
  const workflowId = await send('what is six times seven?', 'alice', 'h-tool');
  expect((await result(workflowId)).reply).toBe('The answer is 42.');
  await save('handle-message-tool', workflowId);
});

it('handleMessage: an approval granted', async () => {
  llm.script(intent('task'), {
    toolCalls: [{ id: 't1', name: 'transfer_funds', arguments: { to: 'ACME', amount: 1 } }],
  });
  const workflowId = await send('pay ACME 1', 'requester', 'h-approval');
  const jobId = await eventually(
    async () =>
      (await platform.temporal.workflow.getHandle(workflowId).query<RunStatus>('status')).pendingApproval?.jobId,
    20_000,
    'a pending approval',
  );
  llm.script({ text: 'Paid ACME 1.' });
  // A second person is a second credential: the same key naming another sender is refused.
  const boss = await createApiKey(platform.database.db, `h-boss-${Date.now()}`, 'approver');
  const approve = await send(`/approve ${jobId}`, 'boss', 'h-approval', boss.key);
  expect((await result(approve)).reply).toBe(`Approved ${jobId}.`);
  expect((await result(workflowId)).reply).toBe('Paid ACME 1.');
  await save('handle-message-approval-granted', workflowId);
  await save('handle-message-approve-command', approve);
});

it('handleMessage: an approval timed out', async () => {
  llm.script(
    intent('task'),
    { toolCalls: [{ id: 't2', name: 'transfer_funds', arguments: { to: 'ACME', amount: 2 } }] },
    { text: 'Nobody approved the transfer in time.' },
  );
  const workflowId = await send('pay ACME 2', 'requester', 'h-timeout');
  const run = await result(workflowId);
  expect(run.toolCalls[0]?.result).toContain('not approved in time');
  await save('handle-message-approval-timeout', workflowId);
});

it('handleMessage: a failed model call', async () => {
  llm.script(intent('question'), { status: 401, error: { message: 'invalid api key', type: 'auth' } });
  const workflowId = await send('hello?', 'alice', 'h-failed');
  expect((await result(workflowId)).outcome).toBe('failed');
  await save('handle-message-model-failed', workflowId);
});

it('handleMessage: a reply followed by history compaction', async () => {
  const long = (fact: string) => `${fact} ${'lorem ipsum '.repeat(800)}`;
  llm.script(intent('chat'), { text: 'Noted.' });
  await result(await send(long('First fact: the code word is PELICAN.'), 'mia', 'h-memory'));
  llm.script(intent('chat'), { text: 'Noted again.' }, { text: 'Summary: the code word is PELICAN.' });
  const workflowId = await send(long('Second fact: the meeting is on Friday.'), 'mia', 'h-memory');
  expect((await result(workflowId)).reply).toBe('Noted again.');
  await save('handle-message-compaction', workflowId);
});

it('retentionPurge', async () => {
  const workflowId = `retention-purge:histories:${Date.now()}`;
  await platform.temporal.workflow.start('retentionPurge', {
    taskQueue: platform.config.temporal.taskQueue,
    workflowId,
    args: [{ trigger: 'histories' }],
  });
  await save('retention-purge', workflowId);
});
