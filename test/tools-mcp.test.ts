// MCP tool servers bridged into the pipeline: a real MCP server (the SDK's McpServer in
// test/fakes/mcp-server.ts, over stdio) is started by the worker from MCP_SERVERS, and a scripted model calls
// its tools through the tool loop, each call one runTool activity.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../api/admin-keys.js';
import type { RunStatus } from '../runs/contract.js';
import { type FakeLlm, startFakeLlm } from './fakes/openai-compatible.js';
import { eventually, projectRoot, startTestPlatform, type TestPlatform } from './support/platform.js';

let platform: TestPlatform | undefined;
let llm: FakeLlm;

const fakeServer = (name: string, sensitive?: boolean) => ({
  name,
  transport: 'stdio',
  command: process.execPath,
  args: ['--import', 'tsx', fileURLToPath(new URL('./fakes/mcp-server.ts', import.meta.url))],
  cwd: projectRoot,
  env: { FAKE_MCP_GREETING: `greetings from ${name}` },
  ...(sensitive === undefined ? {} : { sensitive }),
});

beforeAll(async () => {
  llm = await startFakeLlm();
  platform = await startTestPlatform({
    LLM_BASE_URL: llm.baseUrl,
    LLM_MODEL: 'fake-model',
    LLM_TIMEOUT_MS: '5000',
    APPROVAL_TIMEOUT_MS: '20000',
    MCP_SERVERS: JSON.stringify([fakeServer('calc', false), fakeServer('guarded')]),
  });
});
afterAll(async () => {
  await platform?.stop();
  await llm?.close();
});

let sequence = 0;
/** Sends as the platform's admin key acting for `sender`, or as `key` itself (a second credential). */
async function send(text: string, sender = 'mcp-user', key?: string): Promise<string> {
  const response = await platform!.api('/v1/messages', {
    method: 'POST',
    ...(key ? { headers: { authorization: `Bearer ${key}` } } : {}),
    body: JSON.stringify({
      message_id: `mcp-${Date.now()}-${sequence++}`,
      conversation_id: 'mcp',
      ...(key ? {} : { sender: { id: sender } }),
      text,
    }),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { workflowId: string }).workflowId;
}
const result = async (workflowId: string) =>
  (await platform!.temporal.workflow.getHandle(workflowId).result()) as RunStatus;
const intent = { json: { intent: 'task', confidence: 0.9, reason: 'scripted' } };

describe('MCP tools in the pipeline', () => {
  it('offers the MCP server tools to the model and runs calc__add on the server', async () => {
    llm.script(
      intent,
      { toolCalls: [{ id: 'call_add', name: 'calc__add', arguments: { a: 19, b: 23 } }] },
      { text: '19 + 23 = 42' },
    );
    const before = llm.requests.length;
    const run = await result(await send('what is 19 + 23? use the calculator server'));
    expect(run).toMatchObject({ outcome: 'replied', reply: '19 + 23 = 42' });
    expect(run.toolCalls).toEqual([
      { name: 'calc__add', arguments: '{"a":19,"b":23}', ok: true, result: '{"text":"42"}' },
    ]);

    const plans = llm.requests.slice(before).filter((request) => request.body.tools);
    const offered = plans[0]!.body.tools as Array<{ function: { name: string; parameters: unknown } }>;
    const add = offered.find((tool) => tool.function.name === 'calc__add');
    expect(add?.function.parameters).toMatchObject({ type: 'object', required: ['a', 'b'] });
    expect(offered.map((tool) => tool.function.name)).toEqual(
      expect.arrayContaining(['calc__greeting', 'guarded__add', 'memory_search', 'schedule_reminder']),
    );
    const answer = plans[1]!.body.messages.find((message) => message.role === 'tool');
    expect(answer).toMatchObject({ tool_call_id: 'call_add' });
    expect(String(answer?.content)).toContain('42');
  });

  it('passes the configured environment to the server process', async () => {
    llm.script(intent, { toolCalls: [{ id: 'g', name: 'calc__greeting', arguments: {} }] }, { text: 'done' });
    const run = await result(await send('greet me'));
    expect(run.toolCalls[0]).toMatchObject({ ok: true, result: '{"text":"greetings from calc"}' });
  });

  it('feeds an MCP tool error back to the model', async () => {
    llm.script(
      intent,
      { toolCalls: [{ id: 'f', name: 'calc__fail', arguments: { reason: 'quota exceeded' } }] },
      { text: 'The server said the quota is exceeded.' },
    );
    const run = await result(await send('try the failing tool'));
    expect(run.toolCalls[0]).toMatchObject({ name: 'calc__fail', ok: false });
    expect(run.toolCalls[0]!.result).toContain('quota exceeded');
    expect(run.reply).toBe('The server said the quota is exceeded.');
  });

  it('asks for approval before a tool of a server not marked otherwise (sensitive by default)', async () => {
    llm.script(intent, { toolCalls: [{ id: 's', name: 'guarded__add', arguments: { a: 1, b: 2 } }] });
    // A second person is a second credential: a member asks, the admin key approves.
    const asker = await createApiKey(platform!.database.db, `mcp-asker-${Date.now()}`, 'member');
    const workflowId = await send('add on the guarded server', 'asker', asker.key);
    const jobId = await eventually(
      async () =>
        (await platform!.temporal.workflow.getHandle(workflowId).query<RunStatus>('status')).pendingApproval?.jobId,
      30_000,
      'a pending approval',
    );
    llm.script({ text: 'Approved and computed: 3.' });
    await result(await send(`/approve ${jobId}`, 'approver'));
    const run = await result(workflowId);
    expect(run.toolCalls[0]).toMatchObject({ name: 'guarded__add', ok: true, result: '{"text":"3"}' });
  });

  it('closes the MCP server processes when the platform stops', async () => {
    llm.script(intent, { toolCalls: [{ id: 'p', name: 'calc__pid', arguments: {} }] }, { text: 'ok' });
    const run = await result(await send('which process?'));
    const pid = Number(JSON.parse(run.toolCalls[0]!.result).text);
    expect(isAlive(pid)).toBe(true);
    const stopping = platform!;
    platform = undefined;
    await stopping.stop();
    await eventually(async () => (isAlive(pid) ? undefined : true), 15_000, `MCP server process ${pid} to exit`);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
