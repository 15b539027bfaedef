// What the pipeline writes to the audit log, on real Temporal and PostgreSQL with a scripted model: decisions on
// approvals (refused ones too) with the credential and the chat user who made them, and a sensitive tool's run, recorded before it
// starts and again with its outcome.
import { createHash } from 'node:crypto';
import { and, asc, eq, like } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApiKey } from '../api/admin-keys.js';
import { auditLog } from '../db/schema.js';
import type { RunStatus } from '../runs/contract.js';
import type { ToolDefinition } from '../tools/types.js';
import { type FakeLlm, startFakeLlm } from './fakes/openai-compatible.js';
import { eventually, startTestPlatform, type TestPlatform } from './support/platform.js';

let platform: TestPlatform;
let llm: FakeLlm;
/** A relay for chat users (role integration): it sends the requests; decisions come from the admin key. */
let relay: { id: string; key: string };
const run = `ae${Date.now().toString(36)}`;

const unlockTool: ToolDefinition<{ door: string }> = {
  name: 'unlock_door',
  description: 'Unlock a door of the building',
  parameters: { type: 'object', properties: { door: { type: 'string' } }, required: ['door'] },
  inputSchema: z.object({ door: z.string() }),
  sensitive: true,
  timeoutMs: 5_000,
  async run({ door }) {
    return { unlocked: door };
  },
};

beforeAll(async () => {
  llm = await startFakeLlm({ apiKey: 'sk-test-audit' });
  platform = await startTestPlatform(
    { LLM_BASE_URL: llm.baseUrl, LLM_API_KEY: 'sk-test-audit', LLM_MODEL: 'fake-model', LLM_TIMEOUT_MS: '5000' },
    { tools: [unlockTool as ToolDefinition] },
  );
  relay = await createApiKey(platform.database.db, `${run}-relay`, 'integration');
});
afterAll(async () => {
  await platform?.stop();
  await llm?.close();
});

let sequence = 0;
async function send(text: string, sender: string, key = relay.key): Promise<string> {
  const response = await platform.api('/v1/messages', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: JSON.stringify({ message_id: `${run}-${sequence++}`, conversation_id: run, sender: { id: sender }, text }),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { workflowId: string }).workflowId;
}
const result = async (workflowId: string) =>
  (await platform.temporal.workflow.getHandle(workflowId).result()) as RunStatus;

describe('audit rows from the pipeline', () => {
  it('record refused and granted approvals, and the sensitive tool run with its outcome', async () => {
    const requester = `${run}-requester`;
    const approver = `${run}-approver`;
    llm.script(
      { json: { intent: 'task', confidence: 0.9, reason: 'scripted' } },
      { toolCalls: [{ id: 'u1', name: 'unlock_door', arguments: { door: 'server room' } }] },
    );
    const workflowId = await send('open the server room', requester);
    const jobId = await eventually(
      async () =>
        (await platform.temporal.workflow.getHandle(workflowId).query<RunStatus>('status')).pendingApproval?.jobId,
      20_000,
      'a pending approval',
    );
    expect((await result(await send(`/approve ${jobId}`, requester))).reply).toContain('a second person');
    llm.script({ text: 'The server room is open.' });
    expect((await result(await send(`/approve ${jobId}`, approver, platform.adminKey))).reply).toBe(
      `Approved ${jobId}.`,
    );
    expect((await result(workflowId)).reply).toBe('The server room is open.');

    const decisions = await platform.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'job.approve'), eq(auditLog.target, jobId)))
      .orderBy(asc(auditLog.sequence));
    // On the api channel the actor is the credential; the sender id it named is kept beside it.
    expect(decisions).toMatchObject([
      {
        actor: `api:${relay.id}`,
        outcome: 'denied',
        detail: { workflowId, refused: 'requester', channel: 'api', sender: requester },
      },
      {
        actor: 'api:env:CONDUIT_ADMIN_API_KEY',
        outcome: 'success',
        detail: { workflowId, channel: 'api', sender: approver },
      },
    ]);

    const toolRows = await platform.database.db
      .select()
      .from(auditLog)
      .where(and(like(auditLog.action, 'tool.run.%'), eq(auditLog.actor, `chat:api:${requester}`)))
      .orderBy(asc(auditLog.sequence));
    const fingerprint = createHash('sha256')
      .update(JSON.stringify({ door: 'server room' }))
      .digest('hex');
    expect(toolRows).toMatchObject([
      {
        action: 'tool.run.start',
        target: 'unlock_door',
        detail: { workflowId, callId: 'u1', argumentsSha256: fingerprint },
      },
      { action: 'tool.run.finish', target: 'unlock_door', outcome: 'success', detail: { workflowId, callId: 'u1' } },
    ]);
    // The arguments themselves never reach the audit log.
    expect(JSON.stringify(toolRows)).not.toContain('server room');
  });

  it('records a decision made over the API with the key that made it', async () => {
    llm.script(
      { json: { intent: 'task', confidence: 0.9, reason: 'scripted' } },
      { toolCalls: [{ id: 'u2', name: 'unlock_door', arguments: { door: 'lobby' } }] },
      { text: 'The lobby stays locked.' },
    );
    const workflowId = await send('open the lobby', `${run}-someone`);
    await eventually(
      async () => (await platform.temporal.workflow.getHandle(workflowId).query<RunStatus>('status')).pendingApproval,
      20_000,
      'a pending approval',
    );
    const response = await platform.api(`/v1/runs/${workflowId}/reject`, {
      method: 'POST',
      body: JSON.stringify({ reason: 'not during the audit' }),
    });
    expect(response.status).toBe(202);
    expect((await result(workflowId)).reply).toBe('The lobby stays locked.');
    const rows = await platform.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'run.reject'), eq(auditLog.target, workflowId)));
    expect(rows).toMatchObject([
      { actor: 'api:env:CONDUIT_ADMIN_API_KEY', outcome: 'success', detail: { reason: 'not during the audit' } },
    ]);
  });
});
