// Secondary verification under attack, on a real API, Temporal and PostgreSQL with a scripted model: on
// Conduit's own channels the sender is the credential the API authenticated. A key cannot name another sender
// unless it may act for its users (audit-logged with both identities), cannot approve its own request under a
// made-up name, in chat or over POST /v1/runs/:id/approve, and a sender id equal to an approver's (a
// CHAT_APPROVERS entry, a Feishu user id) proves nothing.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { createApiKey } from '../api/admin-keys.js';
import { PROTO_LOADER_OPTIONS, PROTO_PATH } from '../api/grpc/server.js';
import { auditLog, runs } from '../db/schema.js';
import { freePort } from '../platform/free-port.js';
import type { RunStatus } from '../runs/contract.js';
import type { ToolDefinition } from '../tools/types.js';
import { type FakeLlm, startFakeLlm } from './fakes/openai-compatible.js';
import { eventually, startTestPlatform, type TestPlatform } from './support/platform.js';

let platform: TestPlatform;
let llm: FakeLlm;
const opened: Array<{ to: string }> = [];
const id = `id${Date.now().toString(36)}`;
/** Keys by what they stand for; the platform's env admin key is the one configured approver. */
let member: { id: string; key: string };
let relay: { id: string; key: string };
let secondRelay: { id: string; key: string };
let approver: { id: string; key: string };

/** A sensitive tool: it runs only once a second person approves. */
const openVault: ToolDefinition<{ to: string }> = {
  name: 'open_vault',
  description: 'Open the vault for someone',
  parameters: { type: 'object', properties: { to: { type: 'string' } }, required: ['to'] },
  inputSchema: z.object({ to: z.string() }),
  sensitive: true,
  timeoutMs: 5_000,
  async run(input) {
    opened.push(input);
    return { opened: true };
  },
};

beforeAll(async () => {
  llm = await startFakeLlm({ apiKey: 'sk-test-identity' });
  platform = await startTestPlatform(
    {
      LLM_BASE_URL: llm.baseUrl,
      LLM_API_KEY: 'sk-test-identity',
      LLM_MODEL: 'fake-model',
      LLM_TIMEOUT_MS: '5000',
      LLM_CACHE_TTL_SECONDS: '0',
      APPROVAL_TIMEOUT_MS: '60000',
      GRPC_PORT: String(await freePort()),
      // The env admin key is the approver on the api channel; the other entries are sender ids an attacker can
      // write into a body: a bare id, every channel's, and a Feishu user's.
      CHAT_APPROVERS: 'api:env:CONDUIT_ADMIN_API_KEY,boss,*:boss,feishu:ou_boss',
    },
    { tools: [openVault as ToolDefinition] },
  );
  const db = platform.database.db;
  member = await createApiKey(db, `${id}-member`, 'member');
  relay = await createApiKey(db, `${id}-relay`, 'integration');
  secondRelay = await createApiKey(db, `${id}-relay-2`, 'admin');
  approver = await createApiKey(db, `${id}-approver`, 'approver');
});
afterAll(async () => {
  await platform?.stop();
  await llm?.close();
});

let sequence = 0;
async function post(key: string, text: string, sender?: string, conversation = id) {
  return platform.api('/v1/messages', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: JSON.stringify({
      message_id: `${id}-${sequence++}`,
      conversation_id: conversation,
      ...(sender === undefined ? {} : { sender: { id: sender } }),
      text,
    }),
  });
}
async function send(key: string, text: string, sender?: string): Promise<string> {
  const response = await post(key, text, sender);
  expect(response.status, await response.clone().text()).toBe(202);
  return ((await response.json()) as { workflowId: string }).workflowId;
}
const result = async (workflowId: string) =>
  (await platform.temporal.workflow.getHandle(workflowId).result()) as RunStatus;
const reply = async (key: string, text: string, sender?: string) => (await result(await send(key, text, sender))).reply;

/** Starts a run that waits for approval to open the vault; answers its workflow and job ids. */
async function requestVault(key: string, sender?: string) {
  llm.script(
    { json: { intent: 'task', confidence: 0.9, reason: 'scripted' } },
    { toolCalls: [{ id: 'v1', name: 'open_vault', arguments: { to: 'mallory' } }] },
  );
  const workflowId = await send(key, 'open the vault for mallory', sender);
  const jobId = await eventually(
    async () =>
      (await platform.temporal.workflow.getHandle(workflowId).query<RunStatus>('status')).pendingApproval?.jobId,
    20_000,
    'a pending approval',
  );
  return { workflowId, jobId };
}

/** Rejects a pending request with the approver key, so the run ends and the model queue is left as it was. */
async function cleanUp(workflowId: string) {
  llm.script({ text: 'Not opened.' });
  await platform.api(`/v1/runs/${workflowId}/reject`, {
    method: 'POST',
    headers: { authorization: `Bearer ${approver.key}` },
    body: '{}',
  });
  await result(workflowId);
}

describe('the sender on the api channel', () => {
  it('is the key that sent the message: a made-up sender id needs messages:act_for', async () => {
    const named = await post(member.key, '/echo hi', 'someone-else');
    expect(named.status).toBe(403);
    expect(await named.json()).toMatchObject({ error: { code: 'forbidden' } });
    // The key's own id, or no sender at all, is the key.
    const workflowId = await send(member.key, '/echo hi');
    expect((await result(workflowId)).reply).toBe('hi');
    const [row] = await platform.database.db.select().from(runs).where(eq(runs.workflowId, workflowId));
    expect(row?.senderId).toBe(member.id);
    expect((await post(member.key, '/echo me', member.id)).status).toBe(202);
  });

  it('may be another user for a key that acts for its users, audit-logged with both identities', async () => {
    const workflowId = await send(relay.key, '/echo relayed', `${id}-carol`);
    expect((await result(workflowId)).reply).toBe('relayed');
    const rows = await platform.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'message.act_for'), eq(auditLog.actor, `api:${relay.id}`)));
    expect(rows).toContainEqual(
      expect.objectContaining({
        target: `user:api:${id}-carol`,
        detail: { channel: 'api', principal: relay.id, sender: `${id}-carol` },
      }),
    );
  });
});

describe('secondary verification', () => {
  it('refuses /approve from the requesting key under another made-up sender', async () => {
    const { workflowId, jobId } = await requestVault(member.key);
    // A member cannot even name another sender; as itself it is the requester.
    expect((await post(member.key, `/approve ${jobId}`, 'a-colleague')).status).toBe(403);
    expect(await reply(member.key, `/approve ${jobId}`)).toContain('a second person has to approve it');
    // A relay may name its users, but a second name on the same credential is not a second person.
    const relayed = await requestVault(relay.key, `${id}-alice`);
    expect(await reply(relay.key, `/approve ${relayed.jobId}`, `${id}-bob`)).toContain(
      'a second person has to approve it',
    );
    expect(await reply(relay.key, `/approve ${relayed.jobId}`, 'boss')).toContain('a second person has to approve it');
    expect(opened).toHaveLength(0);
    const denied = await platform.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'job.approve'), eq(auditLog.target, relayed.jobId)))
      .orderBy(asc(auditLog.sequence));
    expect(denied).toMatchObject([
      { actor: `api:${relay.id}`, outcome: 'denied', detail: { refused: 'requester', sender: `${id}-bob` } },
      { actor: `api:${relay.id}`, outcome: 'denied', detail: { refused: 'requester', sender: 'boss' } },
    ]);
    await cleanUp(workflowId);
    await cleanUp(relayed.workflowId);
  });

  it('does not take a sender id equal to an approver entry as the approver', async () => {
    const { workflowId, jobId } = await requestVault(relay.key, `${id}-dave`);
    // Another credential naming "boss", "*:boss" or a Feishu approver's id is still not the approver.
    for (const sender of ['boss', 'feishu:ou_boss', 'ou_boss']) {
      expect(await reply(secondRelay.key, `/approve ${jobId}`, sender)).toBe(
        `Only approvers may approve ${jobId}; ask one of them.`,
      );
    }
    // The approver role alone is not enough either when CHAT_APPROVERS names who approves.
    expect(await reply(approver.key, `/approve ${jobId}`)).toBe(
      `Only approvers may approve ${jobId}; ask one of them.`,
    );
    expect(opened).toHaveLength(0);
    // The credential CHAT_APPROVERS names does approve, whatever sender name it gives.
    llm.script({ text: 'The vault is open.' });
    expect(await reply(platform.adminKey, `/approve ${jobId}`, 'the-boss')).toBe(`Approved ${jobId}.`);
    expect((await result(workflowId)).reply).toBe('The vault is open.');
    expect(opened).toEqual([{ to: 'mallory' }]);
    opened.length = 0;
    const [granted] = await platform.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'job.approve'), eq(auditLog.target, jobId), eq(auditLog.outcome, 'success')));
    expect(granted).toMatchObject({ actor: 'api:env:CONDUIT_ADMIN_API_KEY', detail: { sender: 'the-boss' } });
  });

  it('refuses POST /v1/runs/:id/approve by the requesting key, and by a key without the approver role', async () => {
    const { workflowId } = await requestVault(approver.key);
    const decide = (key: string) =>
      platform.api(`/v1/runs/${workflowId}/approve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}` },
        body: '{}',
      });
    const self = await decide(approver.key);
    expect(self.status).toBe(403);
    expect(await self.json()).toMatchObject({ error: { code: 'forbidden' } });
    expect((await decide(member.key)).status).toBe(403);
    expect((await decide(relay.key)).status).toBe(403);
    // Even a signal that reaches the run another way is ignored when the requester signed it.
    await platform.temporal.workflow
      .getHandle(workflowId)
      .signal('approve', { by: 'api:itself', principal: approver.id });
    expect(
      (await platform.temporal.workflow.getHandle(workflowId).query<RunStatus>('status')).pendingApproval,
    ).toBeDefined();
    expect(opened).toHaveLength(0);
    llm.script({ text: 'Opened on the admin’s word.' });
    expect((await decide(platform.adminKey)).status).toBe(202);
    expect((await result(workflowId)).reply).toBe('Opened on the admin’s word.');
    expect(opened).toEqual([{ to: 'mallory' }]);
    opened.length = 0;
    const rows = await platform.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'run.approve'), eq(auditLog.target, workflowId)))
      .orderBy(asc(auditLog.sequence));
    expect(rows).toMatchObject([
      { actor: `api:${approver.id}`, outcome: 'denied', detail: { refused: 'requester' } },
      { actor: 'api:env:CONDUIT_ADMIN_API_KEY', outcome: 'success' },
    ]);
  });
});

describe('the streaming doors', () => {
  it('a WebSocket message frame naming another sender is refused for a key without messages:act_for', async () => {
    const ws = new WebSocket(`${platform.apiUrl.replace(/^http/, 'ws')}/v1/ws`, {
      headers: { authorization: `Bearer ${member.key}` },
    });
    const frames: Array<{
      type: string;
      error?: { code: string };
      workflowId?: string;
      data?: { senderId?: string };
    }> = [];
    ws.on('message', (data) => frames.push(JSON.parse(data.toString())));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    try {
      const frame = (messageId: string, sender?: string) =>
        JSON.stringify({
          type: 'message',
          message_id: messageId,
          conversation_id: id,
          ...(sender ? { sender: { id: sender } } : {}),
          text: '/echo ws',
        });
      ws.send(frame(`${id}-ws-1`, 'boss'));
      await eventually(async () => frames.find((f) => f.type === 'error'), 10_000, 'an error frame');
      expect(frames.find((f) => f.type === 'error')).toMatchObject({ error: { code: 'forbidden' } });
      ws.send(frame(`${id}-ws-2`));
      const accepted = await eventually(
        async () => frames.find((f) => f.type === 'accepted'),
        10_000,
        'an accepted event',
      );
      expect(accepted.workflowId).toBe(`message:ws:${id}-ws-2`);
      expect(accepted.data?.senderId).toBe(member.id);
    } finally {
      ws.close();
    }
  });

  it('a gRPC SendMessage naming another sender is PERMISSION_DENIED for a key without messages:act_for', async () => {
    const definition = protoLoader.loadSync(PROTO_PATH, PROTO_LOADER_OPTIONS);
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      conduit: { v1: { Conduit: grpc.ServiceClientConstructor } };
    };
    const client = new loaded.conduit.v1.Conduit(
      platform.grpcAddress!,
      grpc.credentials.createInsecure(),
    ) as unknown as grpc.Client & {
      SendMessage(
        request: object,
        metadata: grpc.Metadata,
        callback: (error: grpc.ServiceError | null, response?: { workflow_id: string }) => void,
      ): grpc.ClientUnaryCall;
    };
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${member.key}`);
    const sendMessage = (request: object) =>
      new Promise<{ error: grpc.ServiceError | null; response?: { workflow_id: string } }>((resolve) =>
        client.SendMessage(request, metadata, (error, response) => resolve({ error, response })),
      );
    try {
      const named = await sendMessage({ conversation_id: id, sender: { id: 'boss' }, text: '/echo grpc' });
      expect(named.error?.code).toBe(grpc.status.PERMISSION_DENIED);
      const own = await sendMessage({ message_id: `${id}-grpc`, conversation_id: id, text: '/echo grpc' });
      expect(own.error).toBeNull();
      await result(own.response!.workflow_id);
      const [row] = await platform.database.db
        .select()
        .from(runs)
        .where(eq(runs.workflowId, own.response!.workflow_id));
      expect(row?.senderId).toBe(member.id);
    } finally {
      client.close();
    }
  });
});
