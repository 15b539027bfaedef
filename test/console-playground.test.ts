// The console's chat playground in headless Chromium against the real stack: a member sends a message as
// themselves on the api channel and watches the run's events arrive live through the console's event feed, with
// a link to the run in the Temporal UI. Then the feed, hostilely: no session, a signed-out session's cookie, a
// forged cookie, another principal's run, a run the same key started over /v1 (not followed from here), a run
// that does not exist, a viewer; and a resume after the last event id it saw.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../api/admin-keys.js';
import { messages } from '../db/schema.js';
import { launchBrowser, outputDir, type TestBrowser } from './support/browser.js';
import { seriousAxeViolations, signIn } from './support/console.js';
import { startTestPlatform, type TestPlatform } from './support/platform.js';

let platform: TestPlatform;
let browser: TestBrowser;
const TEMPORAL_UI = 'https://temporal.example.test';

beforeAll(async () => {
  platform = await startTestPlatform({ TEMPORAL_UI_URL: TEMPORAL_UI });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await platform?.stop();
});

const key = (role: 'member' | 'viewer') =>
  createApiKey(platform.database.db, `playground-${role}-${randomBytes(3).toString('hex')}`, role);

/** Signs in over plain HTTP and returns the session cookie and its CSRF token. */
async function session(apiKey: string): Promise<{ cookie: string; csrf: string }> {
  const login = await fetch(`${platform.apiUrl}/console/login`, {
    method: 'POST',
    body: new URLSearchParams({ key: apiKey }),
    redirect: 'manual',
  });
  expect(login.status).toBe(303);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const page = await (await fetch(`${platform.apiUrl}/console/audit`, { headers: { cookie } })).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
  return { cookie, csrf };
}

const feed = (workflowId: string, headers: Record<string, string> = {}) =>
  fetch(`${platform.apiUrl}/console/playground/events?run=${encodeURIComponent(workflowId)}`, {
    headers,
    redirect: 'manual',
  });

/** The SSE frames of a feed that ends (the run replied): `{event, id, data}` each. */
async function frames(response: Response) {
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  return (await response.text())
    .split('\n\n')
    .filter((block) => block.trim() && !block.startsWith(':'))
    .map((block) => {
      const field = (name: string) =>
        block
          .split('\n')
          .find((line) => line.startsWith(`${name}: `))
          ?.slice(name.length + 2);
      return { event: field('event') ?? 'message', id: field('id'), data: field('data') ?? '' };
    });
}

describe('the console chat playground', () => {
  it('sends as the signed-in principal and shows the run’s events live, linking to the Temporal UI', async () => {
    const member = await key('member');
    const tag = randomBytes(4).toString('hex');
    const page = await browser.context.newPage();
    await signIn(page, platform.apiUrl, member.key);
    await page.getByRole('link', { name: 'Playground' }).click();
    await page.getByLabel('Conversation').fill(`playground-${tag}`);
    await page.getByLabel('Message').fill(`/echo hello playground ${tag}`);
    await page.getByRole('button', { name: 'Send' }).click();

    await page
      .locator('.event-reply')
      .filter({ hasText: `hello playground ${tag}` })
      .waitFor();
    await page.getByRole('status').filter({ hasText: 'The run replied.' }).waitFor();
    const items = await page.locator('#events li').allTextContents();
    expect(items[0]).toMatch(new RegExp(`^accepted .* from ${member.id}$`));
    expect(items.at(-1)).toContain('reply');
    expect(items.some((item) => item.startsWith('step'))).toBe(true);

    const workflowId = new URL(page.url()).searchParams.get('run') ?? '';
    expect(workflowId).toMatch(/^message:api:/);
    expect(await page.getByRole('link', { name: workflowId, exact: true }).getAttribute('href')).toBe(
      `${TEMPORAL_UI}/namespaces/${platform.config.temporal.namespace}/workflows/${encodeURIComponent(workflowId)}`,
    );
    // The sender is the credential, as over POST /v1/messages.
    const [inbound] = await platform.database.db
      .select()
      .from(messages)
      .where(eq(messages.id, `${workflowId}:in`));
    expect(inbound?.senderId).toBe(member.id);
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(outputDir, 'console-playground.png'), fullPage: true });
    await page.close();

    // Resuming after the first event replays the rest once, up to the reply, and the feed ends.
    const { cookie } = await session(member.key);
    const all = await frames(await feed(workflowId, { cookie }));
    expect(all[0]?.data).toContain('"type":"accepted"');
    expect(all.at(-1)).toEqual({ event: 'end', id: undefined, data: 'replied' });
    const resumed = await frames(await feed(workflowId, { cookie, 'Last-Event-ID': all[0]?.id ?? '' }));
    expect(resumed.map((frame) => frame.id)).toEqual(all.slice(1).map((frame) => frame.id));
  });

  it('serves a run’s feed only to a live session of the principal that started it here', async () => {
    const owner = await key('member');
    const other = await key('member');
    const mine = await session(owner.key);
    const sent = await fetch(`${platform.apiUrl}/console/playground`, {
      method: 'POST',
      headers: { cookie: mine.cookie },
      body: new URLSearchParams({ csrf: mine.csrf, conversation_id: 'playground-hostile', text: '/echo mine' }),
      redirect: 'manual',
    });
    expect(sent.status).toBe(303);
    const workflowId = new URL(sent.headers.get('location') ?? '', platform.apiUrl).searchParams.get('run') ?? '';
    expect((await frames(await feed(workflowId, { cookie: mine.cookie }))).at(-1)?.data).toBe('replied');

    // No session, a forged one: sent to sign in, no events.
    for (const headers of [
      {} as Record<string, string>,
      { cookie: `conduit_console=${randomBytes(32).toString('base64url')}` },
    ]) {
      const refused = await feed(workflowId, headers);
      expect(refused.status).toBe(303);
      expect(refused.headers.get('location')).toBe('/console/login');
    }
    // Another principal, signed in: the same 404 as for a run that does not exist.
    const theirs = await session(other.key);
    const foreign = await feed(workflowId, { cookie: theirs.cookie });
    expect(foreign.status).toBe(404);
    const missing = await feed(`message:api:no-such-${randomBytes(4).toString('hex')}`, { cookie: theirs.cookie });
    expect([missing.status, await missing.text()]).toEqual([404, await foreign.text()]);
    const page = await fetch(`${platform.apiUrl}/console/playground?run=${encodeURIComponent(workflowId)}`, {
      headers: { cookie: theirs.cookie },
    });
    expect(page.status).toBe(404);
    expect(await page.text()).not.toContain('data-feed');

    // A run the owner's key started over /v1 is not one this feed follows (nothing recorded it as followed).
    const overApi = await fetch(`${platform.apiUrl}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ conversation_id: 'playground-hostile', text: '/echo over v1' }),
    });
    expect(overApi.status).toBe(202);
    const { workflowId: apiRun } = (await overApi.json()) as { workflowId: string };
    expect((await feed(apiRun, { cookie: mine.cookie })).status).toBe(404);

    // Signed out: the old cookie is worth nothing.
    const logout = await fetch(`${platform.apiUrl}/console/logout`, {
      method: 'POST',
      headers: { cookie: mine.cookie },
      body: new URLSearchParams({ csrf: mine.csrf }),
      redirect: 'manual',
    });
    expect(logout.status).toBe(303);
    expect((await feed(workflowId, { cookie: mine.cookie })).status).toBe(303);
  });

  it('sends nothing the door would refuse, and says why', async () => {
    const member = await key('member');
    const { cookie, csrf } = await session(member.key);
    const refused = await fetch(`${platform.apiUrl}/console/playground`, {
      method: 'POST',
      headers: { cookie },
      body: new URLSearchParams({ csrf, conversation_id: 'has spaces\u0000', text: '' }),
      redirect: 'manual',
    });
    expect(refused.status).toBe(400);
    const html = await refused.text();
    expect(html).toContain('role="alert"');
    expect(html).toMatch(/Not sent: .*conversation_id/);
    expect(html).toMatch(/Not sent: .*text/);
  });

  it('refuses a viewer the playground and its form', async () => {
    const viewer = await key('viewer');
    const { cookie, csrf } = await session(viewer.key);
    expect((await fetch(`${platform.apiUrl}/console/playground`, { headers: { cookie } })).status).toBe(403);
    const posted = await fetch(`${platform.apiUrl}/console/playground`, {
      method: 'POST',
      headers: { cookie },
      body: new URLSearchParams({ csrf, conversation_id: 'playground-viewer', text: '/echo no' }),
      redirect: 'manual',
    });
    expect(posted.status).toBe(403);
  });
});
