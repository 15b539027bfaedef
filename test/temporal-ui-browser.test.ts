// `npm start` as a person sees it: a platform that starts its own dev server (no TEMPORAL_ADDRESS), a message
// through the API, and the run opened in the embedded Temporal UI in headless Chromium. The UI sends no
// credential, so the decoded reply on the page proves the codec trusts the embedded UI (docs/security.md).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../platform/free-port.js';
import { pseudonym } from '../runs/run-labels.js';
import { launchBrowser, outputDir, type TestBrowser } from './support/browser.js';
import { signIn } from './support/console.js';
import { startTestPlatform, type TestPlatform } from './support/platform.js';

let platform: TestPlatform;
let browser: TestBrowser;

beforeAll(async () => {
  platform = await startTestPlatform(
    {
      TEMPORAL_ADDRESS: '',
      TEMPORAL_DEV_PORT: String(await freePort()),
      TEMPORAL_UI_PORT: String(await freePort()),
    },
    { storage: 'filesystem' },
  );
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await platform?.stop();
});

describe('the embedded Temporal UI', () => {
  it('shows a finished run with its decoded reply, with no credential from the person', async () => {
    expect(platform.temporalUiUrl).toBeDefined();
    const text = `hello from the browser test ${randomBytes(4).toString('hex')}`;
    const response = await platform.api('/v1/messages?wait=10', {
      method: 'POST',
      body: JSON.stringify({ conversation_id: 'browser', sender: { id: 'u-browser' }, text: `/echo ${text}` }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { workflowId: string; runId: string; result?: { reply?: string } };
    expect(body.result?.reply).toBe(text);

    const page = await browser.context.newPage();
    const codecCalls: number[] = [];
    page.on('response', (answer) => {
      if (answer.url().startsWith(`${platform.apiUrl}/codec/`)) codecCalls.push(answer.status());
    });
    const namespace = platform.config.temporal.namespace;
    await page.goto(
      `${platform.temporalUiUrl}/namespaces/${namespace}/workflows/${encodeURIComponent(body.workflowId)}/${body.runId}/history`,
    );
    try {
      await page.getByText(text).first().waitFor({ timeout: 30_000 });
    } finally {
      await page.screenshot({ path: join(outputDir, 'temporal-ui-run.png'), fullPage: true });
    }
    // The reply, not only the echoed input: the run's result was decoded too.
    // biome-ignore lint/performance/useDomNodeTextContent: the rendered text, as the person reads it
    expect(await page.locator('body').innerText()).toContain(`"reply": "${text}"`);
    expect(codecCalls.length).toBeGreaterThan(0);
    expect(codecCalls.every((status) => status === 200)).toBe(true);
    expect(await page.content()).not.toContain('binary/encrypted');
  });

  it('reads a run as a story: its summary and the summary of every step, decoded', async () => {
    const word = randomBytes(4).toString('hex');
    const response = await platform.api('/v1/messages?wait=10', {
      method: 'POST',
      body: JSON.stringify({
        conversation_id: `browser-${word}`,
        sender: { id: 'u-browser', name: 'Li Si' },
        text: `/echo story ${word} for 13812345678`,
      }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { workflowId: string; runId: string };

    const page = await browser.context.newPage();
    const namespace = platform.config.temporal.namespace;
    await page.goto(
      `${platform.temporalUiUrl}/namespaces/${namespace}/workflows/${encodeURIComponent(body.workflowId)}/${body.runId}/history`,
    );
    try {
      await page.getByText('reply to api').first().waitFor({ timeout: 30_000 });
    } finally {
      await page.screenshot({ path: join(outputDir, 'temporal-ui-run-summaries.png'), fullPage: true });
    }
    // biome-ignore lint/performance/useDomNodeTextContent: the rendered text, as the person reads it
    const shown = await page.locator('body').innerText();
    expect(shown).toContain('record the outcome: replied');
    // The run's own summary, masked as the logs are (the decoded input below it shows the text as sent).
    expect(shown).toContain(`api · Li Si: "/echo story ${word} for [PHONE_1]"`);
  });

  it('lists a run by a search-attribute query typed into the workflow list', async () => {
    const conversation = `browser-query-${randomBytes(4).toString('hex')}`;
    const response = await platform.api('/v1/messages?wait=10', {
      method: 'POST',
      body: JSON.stringify({ conversation_id: conversation, sender: { id: 'u-browser' }, text: '/echo found me' }),
    });
    const body = (await response.json()) as { workflowId: string };
    const other = await platform.api('/v1/messages?wait=10', {
      method: 'POST',
      body: JSON.stringify({
        conversation_id: `${conversation}-other`,
        sender: { id: 'u-browser' },
        text: '/echo not me',
      }),
    });
    const otherId = ((await other.json()) as { workflowId: string }).workflowId;

    const query = `ConduitConversation = '${pseudonym('api', conversation)}' AND ConduitOutcome = 'replied'`;
    const namespace = platform.config.temporal.namespace;
    const page = await browser.context.newPage();
    await page.goto(`${platform.temporalUiUrl}/namespaces/${namespace}/workflows?query=${encodeURIComponent(query)}`);
    try {
      await page.getByText(body.workflowId).first().waitFor({ timeout: 30_000 });
    } finally {
      await page.screenshot({ path: join(outputDir, 'temporal-ui-search-attribute-query.png'), fullPage: true });
    }
    // biome-ignore lint/performance/useDomNodeTextContent: the rendered text, as the person reads it
    expect(await page.locator('body').innerText()).not.toContain(otherId);
  });

  it('opens from the console: the playground links its run to the embedded UI, which shows the decoded reply', async () => {
    const word = randomBytes(4).toString('hex');
    const page = await browser.context.newPage();
    await signIn(page, platform.apiUrl, platform.adminKey);
    await page.goto(`${platform.apiUrl}/console/playground`);
    await page.getByLabel('Message').fill(`/echo linked ${word}`);
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByRole('status').filter({ hasText: 'The run replied.' }).waitFor();
    // TEMPORAL_UI_URL is unset: the link goes to this process's embedded UI, by workflow id only (latest run).
    const link = page.getByRole('link', { name: /^message:api:/ });
    expect(await link.getAttribute('href')).toMatch(
      new RegExp(`^${platform.temporalUiUrl}/namespaces/[^/]+/workflows/[^/]+$`),
    );
    await link.click();
    try {
      await page.getByText(`linked ${word}`).first().waitFor({ timeout: 30_000 });
    } finally {
      await page.screenshot({ path: join(outputDir, 'temporal-ui-from-console.png'), fullPage: true });
    }
    // biome-ignore lint/performance/useDomNodeTextContent: the rendered text, as the person reads it
    expect(await page.locator('body').innerText()).toContain(`"reply": "linked ${word}"`);
  });

  it('lets the embedded UI decode without a credential, and nothing else', async () => {
    const uiOrigin = new URL(platform.temporalUiUrl!).origin;
    const sealed = await platform.api('/codec/encode', {
      method: 'POST',
      body: JSON.stringify({ payloads: [{ metadata: { encoding: b64('json/plain') }, data: b64('"plain"') }] }),
    });
    const payloads = await sealed.json();
    const call = (path: string, headers: Record<string, string>) =>
      fetch(`${platform.apiUrl}/codec/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers },
        body: JSON.stringify(payloads),
      });

    const fromUi = await call('decode', { origin: uiOrigin });
    expect(fromUi.status).toBe(200);
    expect(fromUi.headers.get('access-control-allow-origin')).toBe(uiOrigin);
    const localhostSpelling = `http://localhost:${new URL(uiOrigin).port}`;
    expect((await call('decode', { origin: localhostSpelling })).status).toBe(200);
    // Decode only: the trusted principal is a viewer.
    expect((await call('encode', { origin: uiOrigin })).status).toBe(403);
    // Another origin, no origin, a relayed request, or a credential that does not verify: authentication as usual.
    expect((await call('decode', { origin: 'http://127.0.0.1:1' })).status).toBe(401);
    expect((await call('decode', {})).status).toBe(401);
    expect((await call('decode', { origin: uiOrigin, 'x-forwarded-for': '203.0.113.9' })).status).toBe(401);
    expect((await call('decode', { origin: uiOrigin, authorization: 'Bearer cdt_not-a-key' })).status).toBe(401);
  });
});

const b64 = (text: string) => Buffer.from(text).toString('base64');
