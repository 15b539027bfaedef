// The console's runs screen in headless Chromium against the real stack: a finished run is listed, filtered by
// the search attributes the workflow sets (channel, outcome), and a filter that matches nothing lists nothing.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, outputDir, type TestBrowser } from './support/browser.js';
import { seriousAxeViolations, signIn } from './support/console.js';
import { startTestPlatform, type TestPlatform } from './support/platform.js';

let platform: TestPlatform;
let browser: TestBrowser;
const TEMPORAL_UI = 'https://temporal.example.test/ui';

beforeAll(async () => {
  // A production-style Temporal UI address (the shared test server has no embedded UI): runs link there.
  platform = await startTestPlatform({ TEMPORAL_UI_URL: `${TEMPORAL_UI}/` });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await platform?.stop();
});

const whoami = async (key: string) =>
  (await fetch(`${platform.apiUrl}/v1/whoami`, { headers: { authorization: `Bearer ${key}` } })).status;

describe('the console runs screen', () => {
  it('lists a finished run and filters by channel and outcome', async () => {
    const response = await platform.api('/v1/messages?wait=10', {
      method: 'POST',
      body: JSON.stringify({ conversation_id: 'console-runs', text: `/echo runs ${randomBytes(4).toString('hex')}` }),
    });
    expect(response.status).toBe(200);
    const { workflowId, runId } = (await response.json()) as { workflowId: string; runId: string };

    const page = await browser.context.newPage();
    await signIn(page, platform.apiUrl, platform.adminKey);
    await page.getByRole('link', { name: 'Runs' }).click();
    await page.getByLabel('Channel').fill('api');
    await page.getByLabel('Outcome').fill('replied');
    await page.getByRole('button', { name: 'Filter' }).click();
    // Visibility is eventually consistent: reload until the run is listed.
    const row = page.getByRole('row').filter({ hasText: workflowId });
    for (let attempt = 0; attempt < 20 && (await row.count()) === 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      await page.reload();
    }
    expect(await row.textContent()).toContain('replied');
    const namespace = platform.config.temporal.namespace;
    expect(await row.getByRole('link', { name: workflowId, exact: true }).getAttribute('href')).toBe(
      `${TEMPORAL_UI}/namespaces/${namespace}/workflows/${encodeURIComponent(workflowId)}/${runId}/history`,
    );
    expect(await page.content()).toContain("ConduitChannel = 'api'");
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(outputDir, 'console-runs.png'), fullPage: true });

    // A channel no run has (the Temporal dev server is shared with the other test files, which send on them all).
    await page.getByLabel('Channel').fill(`ghost-${randomBytes(4).toString('hex')}`);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByText('No run matches.').waitFor();

    await page.getByLabel('Channel').fill("api' OR 1=1");
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('alert').waitFor();
    await page.close();
  });

  it('creates a key, shows it once, and revokes it', async () => {
    const page = await browser.context.newPage();
    await signIn(page, platform.apiUrl, platform.adminKey);
    await page.getByRole('link', { name: 'Keys' }).click();
    await page.getByLabel('Name').fill('console-made');
    await page.getByLabel('Role').selectOption('viewer');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = await page.getByLabel('New key').inputValue();
    expect(await whoami(key)).toBe(200);
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(outputDir, 'console-keys.png'), fullPage: true });
    const id = (await page.getByRole('status').locator('code').first().textContent()) ?? '';
    await page.goto(`${platform.apiUrl}/console/keys`);
    expect(await page.getByLabel('New key').count()).toBe(0);
    await page.getByRole('button', { name: `Revoke ${id}` }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Revoked ${id}.` })
      .waitFor();
    expect(await whoami(key)).toBe(401);
    await page.close();
  });

  it('browses the audit log and verifies the chain', async () => {
    const page = await browser.context.newPage();
    await signIn(page, platform.apiUrl, platform.adminKey);
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByRole('cell', { name: 'console.sign_in' }).first().waitFor();
    await page.getByRole('button', { name: 'Verify the chain' }).click();
    await page.getByRole('status').filter({ hasText: 'The chain verifies' }).waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(outputDir, 'console-audit.png'), fullPage: true });
    await page.close();
  });
});
