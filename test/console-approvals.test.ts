// The console's sign-in and approvals inbox in headless Chromium against the real stack: a scripted model asks
// for a sensitive tool, the run waits, an approver signs in with their own key, sees the pending call with the
// model's arguments and who asked, approves it, and the tool runs. Also: the session cookie's attributes, a
// forged form POST without the CSRF token, a viewer who cannot decide, and axe-core on each page.
import { join } from 'node:path';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { auditLog } from '../db/schema.js';
import type { RunStatus } from '../runs/contract.js';
import type { ToolDefinition } from '../tools/types.js';
import { type FakeLlm, startFakeLlm } from './fakes/openai-compatible.js';
import { launchBrowser, outputDir, type TestBrowser } from './support/browser.js';
import { seriousAxeViolations, signIn } from './support/console.js';
import { eventually, startTestPlatform, type TestPlatform } from './support/platform.js';

let platform: TestPlatform;
let llm: FakeLlm;
let browser: TestBrowser;
const transfers: Array<{ to: string; amount: number }> = [];

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
  llm = await startFakeLlm({ apiKey: 'sk-test-console' });
  platform = await startTestPlatform(
    {
      LLM_BASE_URL: llm.baseUrl,
      LLM_API_KEY: 'sk-test-console',
      LLM_MODEL: 'fake-model',
      LLM_TIMEOUT_MS: '5000',
      TEMPORAL_UI_URL: 'https://temporal.example.test',
    },
    { tools: [transferTool as ToolDefinition] },
  );
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await platform?.stop();
  await llm?.close();
});

async function createKey(role: string): Promise<string> {
  return (await createKeyWithId(role)).key;
}

async function createKeyWithId(role: string): Promise<{ id: string; key: string }> {
  const response = await platform.api('/v1/keys', {
    method: 'POST',
    body: JSON.stringify({ name: `console-${role}`, role }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string; key: string };
}

describe('the console approvals inbox', () => {
  it('shows a pending sensitive tool call and approves it as the signed-in approver', async () => {
    llm.script(
      { json: { intent: 'task', confidence: 0.9, reason: 'scripted' } },
      { toolCalls: [{ id: 't1', name: 'transfer_funds', arguments: { to: 'ACME', amount: 250 } }] },
    );
    const response = await platform.api('/v1/messages', {
      method: 'POST',
      body: JSON.stringify({ conversation_id: 'console', sender: { id: 'zhang-san' }, text: 'pay ACME 250' }),
    });
    expect(response.status).toBe(202);
    const { workflowId } = (await response.json()) as { workflowId: string };
    const handle = platform.temporal.workflow.getHandle(workflowId);
    await eventually(
      async () => (await handle.query<RunStatus>('status')).pendingApproval?.jobId,
      20_000,
      'a pending approval',
    );

    const approverKey = await createKey('approver');
    const page = await browser.context.newPage();
    await signIn(page, platform.apiUrl, approverKey);
    const cookies = await browser.context.cookies(`${platform.apiUrl}/console/approvals`);
    const session = cookies.find((cookie) => cookie.name === 'conduit_console');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console' });
    expect(session?.value).not.toContain(approverKey);
    expect(await page.evaluate(() => document.cookie)).toBe('');

    const row = page.getByRole('row').filter({ hasText: workflowId });
    await row.waitFor();
    expect(await row.textContent()).toContain('transfer_funds({"to":"ACME","amount":250})');
    expect(await row.textContent()).toContain('zhang-san');
    expect(await row.getByRole('link', { name: workflowId, exact: true }).getAttribute('href')).toBe(
      `https://temporal.example.test/namespaces/${platform.config.temporal.namespace}/workflows/${encodeURIComponent(workflowId)}`,
    );
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(outputDir, 'console-approvals.png'), fullPage: true });

    llm.script({ text: 'Paid ACME 250.' });
    await row.getByLabel(/Reason for/).fill('invoice 42');
    await row.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('status').filter({ hasText: 'Approved' }).waitFor();
    const run = (await handle.result()) as RunStatus;
    expect(run.reply).toBe('Paid ACME 250.');
    expect(transfers).toEqual([{ to: 'ACME', amount: 250 }]);
    await page.close();
  });

  it('refuses a form POST without the session CSRF token, and a wrong key', async () => {
    const key = await createKey('approver');
    const page = await browser.context.newPage();
    await signIn(page, platform.apiUrl, key);
    const forged = await page.evaluate(async () => {
      const body = new URLSearchParams({ decision: 'approve' });
      const answer = await fetch('/console/approvals/any', { method: 'POST', body });
      return answer.status;
    });
    expect(forged).toBe(403);
    await page.close();

    const fresh = await browser.context.newPage();
    await fresh.goto(`${platform.apiUrl}/console/login`);
    await fresh.getByLabel('API key').fill('not-a-key');
    await fresh.getByRole('button', { name: 'Sign in' }).click();
    await fresh.getByRole('alert').filter({ hasText: 'not accepted' }).waitFor();
    expect(await seriousAxeViolations(fresh)).toEqual([]);
    await fresh.screenshot({ path: join(outputDir, 'console-sign-in.png') });
    await fresh.close();
  });

  it('shows a viewer the inbox without decision buttons', async () => {
    const key = await createKey('viewer');
    const page = await browser.context.newPage();
    await signIn(page, platform.apiUrl, key);
    await page.getByRole('heading', { name: 'Approvals inbox' }).waitFor();
    expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    await page.close();
  });

  it('refuses the requester deciding on their own request, with the same audit row as the API plus the job', async () => {
    const requester = await createKeyWithId('approver');
    llm.script(
      { json: { intent: 'task', confidence: 0.9, reason: 'scripted' } },
      { toolCalls: [{ id: 't2', name: 'transfer_funds', arguments: { to: 'SELF', amount: 1 } }] },
    );
    const response = await platform.api('/v1/messages', {
      method: 'POST',
      headers: { authorization: `Bearer ${requester.key}` },
      body: JSON.stringify({ conversation_id: 'console-self', text: 'pay myself 1' }),
    });
    expect(response.status).toBe(202);
    const { workflowId } = (await response.json()) as { workflowId: string };
    const handle = platform.temporal.workflow.getHandle(workflowId);
    const jobId = await eventually(
      async () => (await handle.query<RunStatus>('status')).pendingApproval?.jobId,
      20_000,
      'a pending approval',
    );

    const page = await browser.context.newPage();
    await signIn(page, platform.apiUrl, requester.key);
    const row = page.getByRole('row').filter({ hasText: workflowId });
    await row.getByRole('button', { name: 'Approve' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `You requested ${jobId}; a second person has to approve it.` })
      .waitFor();
    expect((await handle.query<RunStatus>('status')).pendingApproval?.jobId).toBe(jobId);
    const rows = await platform.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'run.approve'), eq(auditLog.target, workflowId)));
    expect(rows.map(({ actor, outcome, detail }) => ({ actor, outcome, detail }))).toEqual([
      {
        actor: `api:${requester.id}`,
        outcome: 'denied',
        detail: { jobId, via: 'console', refused: 'requester' },
      },
    ]);
    await page.close();
    await handle.signal('reject', { by: 'test', principal: 'someone-else' });
  });
});
