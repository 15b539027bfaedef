// The console's conversation view in headless Chromium against the real stack: from a run in the runs screen to
// its conversation, messages both ways and the running summary, as stored (TRANSCRIPT_ANONYMISE on here, so a
// phone number shows as its placeholder, as the privacy export would show it). Reading it needs privacy:manage,
// like the only /v1 route that reads transcripts, and each read is audit-logged. A viewer gets no link and a 403.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, memories } from '../db/schema.js';
import { launchBrowser, outputDir, type TestBrowser } from './support/browser.js';
import { seriousAxeViolations, signIn } from './support/console.js';
import { startTestPlatform, type TestPlatform } from './support/platform.js';

let platform: TestPlatform;
let browser: TestBrowser;

beforeAll(async () => {
  platform = await startTestPlatform({ TRANSCRIPT_ANONYMISE: 'true' });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await platform?.stop();
});

async function send(conversation: string, text: string): Promise<{ workflowId: string; runId: string }> {
  const response = await platform.api('/v1/messages?wait=10', {
    method: 'POST',
    body: JSON.stringify({ conversation_id: conversation, text }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { workflowId: string; runId: string };
}

async function createKey(role: string): Promise<string> {
  const response = await platform.api('/v1/keys', { method: 'POST', body: JSON.stringify({ name: role, role }) });
  expect(response.status).toBe(201);
  return ((await response.json()) as { key: string }).key;
}

describe('the console conversation view', () => {
  it('opens a run’s conversation from the runs screen: summary and messages as stored, audit-logged', async () => {
    const tag = randomBytes(4).toString('hex');
    const conversation = `console-conv-${tag}`;
    await send(conversation, `/echo first ${tag}`);
    const afterFirst = new Date();
    const { workflowId } = await send(conversation, `/echo call me at 13812345678 ${tag}`);
    // What a compaction writes (conversations/memory.ts): the summary and the time of the last message it covers.
    await platform.database.db.insert(memories).values({
      conversationId: `api:${conversation}`,
      key: 'summary',
      value: { text: `The user said "first ${tag}".`, coversUntil: afterFirst.toISOString() },
    });

    const page = await browser.context.newPage();
    await signIn(page, platform.apiUrl, platform.adminKey);
    await page.getByRole('link', { name: 'Runs' }).click();
    const link = page.getByRole('link', { name: `Transcript of ${workflowId}` });
    for (let attempt = 0; attempt < 20 && (await link.count()) === 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      await page.reload();
    }
    await link.click();
    await page.getByRole('heading', { name: 'Conversation', level: 1 }).waitFor();
    expect(await page.locator('.summary').textContent()).toBe(`The user said "first ${tag}".`);
    const rows = page.getByRole('row');
    const texts = await rows.allTextContents();
    expect(texts.filter((text) => text.includes(tag)).length).toBe(4);
    const current = rows.filter({ hasText: `call me at [PHONE_1] ${tag}` });
    expect(await current.count()).toBe(2);
    expect(await rows.filter({ hasText: 'in the summary' }).count()).toBe(2);
    expect(await page.content()).not.toContain('13812345678');
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(outputDir, 'console-conversation.png'), fullPage: true });

    const audited = await platform.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'conversation.read'), eq(auditLog.target, `api:${conversation}`)));
    expect(audited).toHaveLength(1);
    expect(audited[0]?.detail).toMatchObject({ workflowId, messages: 4, via: 'console' });
    await page.close();
  });

  it('gives a viewer no transcript link and refuses the page, and says when a run has no transcript', async () => {
    const { workflowId } = await send(
      `console-conv-viewer-${randomBytes(4).toString('hex')}`,
      '/echo secret-words-xyzzy',
    );
    const viewer = await browser.context.newPage();
    await signIn(viewer, platform.apiUrl, await createKey('viewer'));
    await viewer.goto(`${platform.apiUrl}/console/runs`);
    await viewer.getByRole('heading', { name: 'Runs' }).waitFor();
    expect(await viewer.getByRole('link', { name: /^Transcript of/ }).count()).toBe(0);
    const refused = await viewer.goto(`${platform.apiUrl}/console/conversation?run=${encodeURIComponent(workflowId)}`);
    expect(refused?.status()).toBe(403);
    expect(await viewer.content()).toContain('privacy:manage');
    expect(await viewer.content()).not.toContain('xyzzy');
    await viewer.close();

    const admin = await browser.context.newPage();
    await signIn(admin, platform.apiUrl, platform.adminKey);
    const missing = await admin.goto(`${platform.apiUrl}/console/conversation?run=message:api:no-such-${Date.now()}`);
    expect(missing?.status()).toBe(404);
    await admin.getByRole('alert').filter({ hasText: 'No transcript is recorded' }).waitFor();
    await admin.close();
  });
});
