// The message pipeline on real Temporal, PostgreSQL and MinIO, with a scripted OpenAI-compatible model served
// over HTTP: commands, the tool-calling loop, model failures, approvals, reminders and progress notices.
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApiKey } from '../api/admin-keys.js';
import { memories, replyOutbox, runEvents } from '../db/schema.js';
import type { RunStatus } from '../runs/contract.js';
import type { ToolDefinition } from '../tools/types.js';
import { type FakeLlm, startFakeLlm } from './fakes/openai-compatible.js';
import { eventually, startTestPlatform, type TestPlatform } from './support/platform.js';

let platform: TestPlatform;
let llm: FakeLlm;
const transfers: Array<{ to: string; amount: number }> = [];

/** A sensitive tool: the pipeline must ask a second person before it runs. */
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
  async run(input) {
    transfers.push(input);
    return { ok: true, reference: `tx-${transfers.length}` };
  },
};

beforeAll(async () => {
  llm = await startFakeLlm({ apiKey: 'sk-test-pipeline' });
  platform = await startTestPlatform(
    {
      LLM_BASE_URL: llm.baseUrl,
      LLM_API_KEY: 'sk-test-pipeline',
      LLM_MODEL: 'fake-model',
      LLM_TIMEOUT_MS: '5000',
      APPROVAL_TIMEOUT_MS: '4000',
      PIPELINE_PROGRESS_DELAY_MS: '400',
    },
    { tools: [transferTool as ToolDefinition] },
  );
});
afterAll(async () => {
  await platform?.stop();
  await llm?.close();
});

let sequence = 0;
async function send(text: string, sender = 'alice', conversation = 'pipeline', key?: string) {
  const response = await platform.api('/v1/messages', {
    method: 'POST',
    headers: key ? { authorization: `Bearer ${key}` } : {},
    body: JSON.stringify({
      message_id: `p-${Date.now()}-${sequence++}`,
      conversation_id: conversation,
      sender: { id: sender },
      text,
    }),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { workflowId: string }).workflowId;
}

async function result(workflowId: string): Promise<RunStatus> {
  return (await platform.temporal.workflow.getHandle(workflowId).result()) as RunStatus;
}

async function status(workflowId: string): Promise<RunStatus> {
  return platform.temporal.workflow.getHandle(workflowId).query<RunStatus>('status');
}

const intent = (name = 'task') => ({ json: { intent: name, confidence: 0.9, reason: 'scripted' } });

describe('commands', () => {
  it('answers /help, /time and a bad command without a model call', async () => {
    const before = llm.requests.length;
    const help = await result(await send('/help'));
    expect(help.reply).toContain('/remind <duration> <text>');
    const time = await result(await send('/time'));
    expect(time.reply).toMatch(/^It is \d{4}-\d\d-\d\dT/);
    const bad = await result(await send('/remind whenever'));
    expect(bad.reply).toContain('Usage: /remind');
    expect(llm.requests.length).toBe(before);
  });

  it('schedules a reminder, lists it under /jobs, and delivers it once when due', async () => {
    const scheduled = await result(await send('/remind 2s stretch your legs', 'rita'));
    const jobId = /Job id: (r-[\w-]+)/.exec(scheduled.reply ?? '')?.[1];
    expect(jobId).toBeDefined();
    const jobs = await result(await send('/jobs', 'rita'));
    expect(jobs.reply).toContain(jobId);
    expect(jobs.reply).toContain('stretch your legs');
    const outcome = await platform.temporal.workflow.getHandle(`reminder:${jobId}`).result();
    expect(outcome).toBe('delivered');
    const sent = await platform.database.db
      .select()
      .from(replyOutbox)
      .where(eq(replyOutbox.key, `reminder:${jobId}`));
    expect(sent).toMatchObject([
      { status: 'sent', kind: 'reminder', text: '⏰ Reminder: stretch your legs', attempts: 1 },
    ]);
    const after = await result(await send('/jobs', 'rita'));
    expect(after.reply).toBe('You have no pending reminders or approvals.');
  });

  it('cancels a reminder for its owner only', async () => {
    const scheduled = await result(await send('/remind 1h water the plants', 'carl'));
    const jobId = /Job id: (r-[\w-]+)/.exec(scheduled.reply ?? '')?.[1] ?? 'missing';
    const stranger = await result(await send(`/cancel ${jobId}`, 'mallory'));
    expect(stranger.reply).toContain(`No job ${jobId} found`);
    const owner = await result(await send(`/cancel ${jobId}`, 'carl'));
    expect(owner.reply).toBe(`Cancelled ${jobId}.`);
    expect(await platform.temporal.workflow.getHandle(`reminder:${jobId}`).result()).toBe('cancelled');
    const again = await result(await send(`/cancel ${jobId}`, 'carl'));
    expect(again.reply).toBe(`Job ${jobId} is already cancelled.`);
  });
});

describe('schedules from chat', () => {
  it('creates, lists and deletes a recurring message for its creator only', async () => {
    const created = await result(await send('/schedule every 1h /echo stretch', 'sara'));
    const scheduleId = /Scheduled (s-[\w-]+)/.exec(created.reply ?? '')?.[1] ?? 'missing';
    expect(created.reply).toContain('"/echo stretch" every 60 min');
    const cron = await result(await send('/schedule 0 9 * * 1-5 good morning', 'sara'));
    expect(cron.reply).toContain('at cron 0 9 * * 1-5 (Asia/Shanghai)');
    const listed = await result(await send('/schedules', 'sara'));
    expect(listed.reply).toContain(scheduleId);
    const stranger = await result(await send(`/unschedule ${scheduleId}`, 'mallory'));
    expect(stranger.reply).toBe(`No schedule ${scheduleId} found. /schedules lists yours.`);
    const deleted = await result(await send(`/unschedule ${scheduleId}`, 'sara'));
    expect(deleted.reply).toBe(`Deleted schedule ${scheduleId}.`);
    const after = await result(await send('/schedules', 'sara'));
    expect(after.reply).not.toContain(scheduleId);
  });
});

describe('the model and its tools', () => {
  it('runs a multi-step tool-calling plan and answers with the result', async () => {
    llm.script(
      intent('task'),
      { toolCalls: [{ id: 'call_1', name: 'calculator', arguments: { expression: '6 * 7' } }] },
      { toolCalls: [{ id: 'call_2', name: 'echo', arguments: { text: 'forty-two' } }] },
      { text: 'The answer is 42.' },
    );
    const before = llm.requests.length;
    const run = await result(await send('what is six times seven?'));
    expect(run).toMatchObject({
      reply: 'The answer is 42.',
      outcome: 'replied',
      intent: { name: 'task', source: 'llm' },
    });
    expect(run.toolCalls.map((call) => [call.name, call.ok])).toEqual([
      ['calculator', true],
      ['echo', true],
    ]);
    expect(run.plan).toHaveLength(2);
    const planRequests = llm.requests.slice(before + 1);
    expect(planRequests).toHaveLength(3);
    expect(planRequests[0]!.body.tools?.length).toBeGreaterThanOrEqual(3);
    expect(planRequests[0]!.headers.authorization).toBe('Bearer sk-test-pipeline');
    const toolMessage = planRequests[1]!.body.messages.find((m) => m.role === 'tool');
    expect(toolMessage).toMatchObject({ tool_call_id: 'call_1' });
    expect(String(toolMessage?.content)).toContain('42');
  });

  it('retries the model after a 500 and a 429 and still answers once', async () => {
    llm.script(
      intent('question'),
      { status: 500, error: { message: 'upstream overloaded', type: 'server_error' } },
      { status: 429, error: { message: 'rate limited', type: 'rate_limit_error' } },
      { text: 'Recovered answer.' },
    );
    const workflowId = await send('tell me something');
    const run = await result(workflowId);
    expect(run.reply).toBe('Recovered answer.');
    const replies = await platform.database.db
      .select()
      .from(replyOutbox)
      .where(and(eq(replyOutbox.workflowId, workflowId), eq(replyOutbox.kind, 'final')));
    expect(replies).toHaveLength(1);
  });

  it('gives a polite failure reply when the model refuses the key', async () => {
    llm.script(intent('question'), {
      status: 401,
      error: { message: 'invalid api key sk-test-pipeline', type: 'auth' },
    });
    const run = await result(await send('hello?'));
    expect(run.outcome).toBe('failed');
    expect(run.reply).toContain('could not reach the language model');
  });

  it('feeds a failing tool back to the model instead of failing the run', async () => {
    llm.script(
      intent('task'),
      { toolCalls: [{ id: 'c1', name: 'calculator', arguments: '{"expression": 12' }] },
      { text: 'I could not compute that.' },
    );
    const run = await result(await send('compute something broken'));
    expect(run.toolCalls).toMatchObject([{ name: 'calculator', ok: false }]);
    expect(run.reply).toBe('I could not compute that.');
  });

  it('sends a progress notice when the answer takes longer than the configured delay', async () => {
    llm.script(intent('task'), { text: 'Slow but done.', delayMs: 1500 });
    const workflowId = await send('take your time');
    const run = await result(workflowId);
    expect(run.reply).toBe('Slow but done.');
    const events = await platform.database.db.select().from(runEvents).where(eq(runEvents.workflowId, workflowId));
    const types = events.sort((a, b) => a.id - b.id).map((event) => event.type);
    expect(types).toContain('progress');
    expect(types.indexOf('progress')).toBeLessThan(types.indexOf('reply'));
  });
});

describe('approvals for sensitive tools', () => {
  const askForTransfer = () =>
    llm.script(intent('task'), {
      toolCalls: [{ id: 't1', name: 'transfer_funds', arguments: { to: 'ACME', amount: 100 } }],
    });

  async function pendingApproval(workflowId: string): Promise<string> {
    return eventually(async () => (await status(workflowId)).pendingApproval?.jobId, 20_000, 'a pending approval');
  }

  // A second person is a second credential: the boss decides with a key of its own (the admin key that sends
  // the requests may name any sender, but cannot approve its own requests under another name).
  let bossKey: string;
  beforeAll(async () => {
    bossKey = (await createApiKey(platform.database.db, 'pipeline-boss', 'admin')).key;
  });

  it('runs the tool only after a second person approves', async () => {
    askForTransfer();
    const workflowId = await send('pay ACME 100', 'requester');
    const jobId = await pendingApproval(workflowId);
    const self = await result(await send(`/approve ${jobId}`, 'requester'));
    expect(self.reply).toContain('a second person has to approve it');
    expect(transfers).toHaveLength(0);
    llm.script({ text: 'Paid ACME 100 (tx-1).' });
    const approval = await result(await send(`/approve ${jobId}`, 'boss', undefined, bossKey));
    expect(approval.reply).toBe(`Approved ${jobId}.`);
    const run = await result(workflowId);
    expect(transfers).toEqual([{ to: 'ACME', amount: 100 }]);
    expect(run).toMatchObject({ reply: 'Paid ACME 100 (tx-1).', toolCalls: [{ name: 'transfer_funds', ok: true }] });
  });

  it('does not run the tool when the request is rejected', async () => {
    const before = transfers.length;
    askForTransfer();
    const workflowId = await send('pay ACME again', 'requester');
    const jobId = await pendingApproval(workflowId);
    llm.script({ text: 'The transfer was rejected.' });
    await result(await send(`/reject ${jobId} not today`, 'boss', undefined, bossKey));
    const run = await result(workflowId);
    expect(transfers.length).toBe(before);
    expect(run.toolCalls).toMatchObject([{ name: 'transfer_funds', ok: false }]);
    expect(run.toolCalls[0]!.result).toContain('rejected by boss');
  });

  it('gives up when nobody decides before the approval timeout', async () => {
    const before = transfers.length;
    askForTransfer();
    llm.script({ text: 'Nobody approved the transfer in time.' });
    const workflowId = await send('pay ACME eventually', 'requester');
    const run = await result(workflowId);
    expect(transfers.length).toBe(before);
    expect(run.toolCalls[0]!.result).toContain('not approved in time');
    expect(run.reply).toBe('Nobody approved the transfer in time.');
  });
});

describe('conversation memory', () => {
  it('compacts a long history into a running summary that later turns receive', async () => {
    const long = (fact: string) => `${fact} ${'lorem ipsum '.repeat(800)}`;
    llm.script(intent('chat'), { text: 'Noted.' });
    await result(await send(long('First fact: the code word is PELICAN.'), 'mia', 'memory'));
    llm.script(intent('chat'), { text: 'Noted again.' }, { text: 'Summary: the code word is PELICAN.' });
    await result(await send(long('Second fact: the meeting is on Friday.'), 'mia', 'memory'));

    const [summary] = await platform.database.db
      .select()
      .from(memories)
      .where(eq(memories.conversationId, 'api:memory'));
    expect(summary?.value).toMatchObject({ text: 'Summary: the code word is PELICAN.' });
    expect((await platform.blobs.list('memory/')).length).toBeGreaterThan(0);

    const before = llm.requests.length;
    llm.script(intent('question'), { text: 'PELICAN.' });
    const run = await result(await send('What was the code word?', 'mia', 'memory'));
    expect(run.reply).toBe('PELICAN.');
    const plan = llm.requests.slice(before).find((request) => !request.body.response_format);
    const system = plan?.body.messages
      .filter((message) => message.role === 'system')
      .map((message) => String(message.content));
    expect(
      system?.some((content) =>
        content.includes('Summary of the earlier conversation: Summary: the code word is PELICAN.'),
      ),
    ).toBe(true);
    // The folded message is no longer sent verbatim.
    expect(JSON.stringify(plan?.body.messages)).not.toContain('First fact');
  });
});

describe('chat approvers', () => {
  it('lets only configured approvers decide when CHAT_APPROVERS is set', async () => {
    // On the api channel an approver is a credential: CHAT_APPROVERS names the boss's key, and the colleague
    // decides with a key of its own (the platforms share one database, so the keys work on both).
    const boss = await createApiKey(platform.database.db, 'approvers-boss', 'admin');
    const colleagueKey = (await createApiKey(platform.database.db, 'approvers-colleague', 'admin')).key;
    const strict = await startTestPlatform(
      {
        LLM_BASE_URL: llm.baseUrl,
        LLM_API_KEY: 'sk-test-pipeline',
        LLM_MODEL: 'fake-model',
        LLM_CACHE_TTL_SECONDS: '0',
        CHAT_APPROVERS: `api:${boss.id}`,
      },
      { tools: [transferTool as ToolDefinition] },
    );
    try {
      const sendTo = async (text: string, sender: string, key?: string) => {
        const response = await strict.api('/v1/messages', {
          method: 'POST',
          headers: key ? { authorization: `Bearer ${key}` } : {},
          body: JSON.stringify({ conversation_id: 'approvers', sender: { id: sender }, text }),
        });
        return ((await response.json()) as { workflowId: string }).workflowId;
      };
      const outcome = async (workflowId: string) =>
        (await strict.temporal.workflow.getHandle(workflowId).result()) as RunStatus;
      llm.script(intent('task'), {
        toolCalls: [{ id: 't9', name: 'transfer_funds', arguments: { to: 'X', amount: 1 } }],
      });
      const workflowId = await sendTo('pay X 1', 'requester');
      const jobId = await eventually(
        async () =>
          (await strict.temporal.workflow.getHandle(workflowId).query<RunStatus>('status')).pendingApproval?.jobId,
        20_000,
        'a pending approval',
      );
      const colleague = await outcome(await sendTo(`/approve ${jobId}`, 'colleague', colleagueKey));
      expect(colleague.reply).toBe(`Only approvers may approve ${jobId}; ask one of them.`);
      llm.script({ text: 'Paid X.' });
      const approved = await outcome(await sendTo(`/approve ${jobId}`, 'boss', boss.key));
      expect(approved.reply).toBe(`Approved ${jobId}.`);
      expect((await outcome(workflowId)).reply).toBe('Paid X.');
    } finally {
      await strict.stop();
    }
  });
});
