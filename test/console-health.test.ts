// The console's health screen in headless Chromium against the real stack (npm start's topology: API and worker
// in one process). The Feishu long connection runs against the fake gateway (test/fakes/feishu-long-connection.ts)
// and carries one message; the primary model vendor (a fake OpenAI-compatible API) answers 503 to everything, so
// its breaker opens after one failure while the fallback answers. The screen must show the connection up with that
// delivery, the primary's breaker open and the fallback closed with a last answer; and an API-only process must
// say it cannot see the breakers, and where to read them. A real Prometheus (Debian's package) scrapes the platform
// with deploy/prometheus/alerts.yml loaded: the Alerts section lists its rules' state; an unreachable PROMETHEUS_URL
// is said plainly, and an unset one is named.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../platform/free-port.js';
import { messageWorkflowId, type RunStatus } from '../runs/contract.js';
import { createFeishuLongConnectionGateway, type FeishuLongConnectionGateway } from './fakes/feishu-long-connection.js';
import { type FeishuOpenApiFake, startFeishuOpenApi } from './fakes/feishu-open-api.js';
import { type FakeLlm, startFakeLlm } from './fakes/openai-compatible.js';
import { launchBrowser, outputDir, type TestBrowser } from './support/browser.js';
import { seriousAxeViolations, signIn } from './support/console.js';
import { requireBinary, type Supervised, supervise } from './support/ops-binaries.js';
import { eventually, projectRoot, startTestPlatform, type TestPlatform } from './support/platform.js';

// The Feishu SDK only starts for app ids of this form.
const FEISHU = {
  appId: `cli_${randomBytes(8).toString('hex')}`,
  appSecret: `fs-health-${randomBytes(12).toString('hex')}`,
};

let platform: TestPlatform;
let browser: TestBrowser;
let feishu: FeishuOpenApiFake;
let longConnection: FeishuLongConnectionGateway;
let primary: FakeLlm;
let fallback: FakeLlm;
let prometheus: Supervised;
let prometheusUrl: string;
let scratch: string;

beforeAll(async () => {
  const prometheusBinary = requireBinary('prometheus');
  prometheusUrl = `http://127.0.0.1:${await freePort()}`;
  longConnection = createFeishuLongConnectionGateway(FEISHU);
  feishu = await startFeishuOpenApi({ ...FEISHU, extend: longConnection.attach });
  primary = await startFakeLlm({
    respond: () => ({ status: 503, error: { message: 'the vendor is down', type: 'server_error' } }),
  });
  fallback = await startFakeLlm({
    respond: (body) =>
      body.response_format !== undefined
        ? { json: { intent: 'question', confidence: 0.9, reason: 'scripted' } }
        : { text: 'the fallback answers' },
  });
  platform = await startTestPlatform({
    FEISHU_APP_ID: FEISHU.appId,
    FEISHU_APP_SECRET: FEISHU.appSecret,
    FEISHU_BASE_URL: feishu.url,
    FEISHU_LONG_CONNECTION: 'true',
    LLM_BASE_URL: primary.baseUrl,
    LLM_MODEL: 'primary-model',
    LLM_FALLBACK_BASE_URL: fallback.baseUrl,
    LLM_FALLBACK_MODEL: 'fallback-model',
    // One failure opens the breaker, and it stays open for the whole test.
    LLM_BREAKER_FAILURES: '1',
    LLM_BREAKER_COOLDOWN_MS: '600000',
    LLM_CACHE_TTL_SECONDS: '0',
    PIPELINE_PROGRESS_DELAY_MS: '600000',
    PROMETHEUS_URL: prometheusUrl,
  });
  await longConnection.waitForConnection();
  scratch = await mkdtemp(join(tmpdir(), 'conduit-health-prometheus-'));
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: [join(projectRoot, 'deploy/prometheus/alerts.yml')],
    scrape_configs: [{ job_name: 'conduit', static_configs: [{ targets: [new URL(platform.apiUrl).host] }] }],
  };
  // JSON is YAML: no serializer needed for the temporary config.
  await writeFile(join(scratch, 'prometheus.yml'), JSON.stringify(config));
  prometheus = supervise(prometheusBinary, [
    `--config.file=${join(scratch, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(scratch, 'data')}`,
    `--web.listen-address=${new URL(prometheusUrl).host}`,
    '--log.level=warn',
  ]);
  // Every rule evaluated at least once (health leaves "unknown"), so the screen shows settled states.
  await eventually(
    async () => {
      if (prometheus.child.exitCode !== null) throw new Error(`prometheus exited: ${prometheus.output()}`);
      const body = (await (await fetch(`${prometheusUrl}/api/v1/rules?type=alert`)).json()) as {
        data: { groups: Array<{ rules: Array<{ health: string }> }> };
      };
      const rules = body.data.groups.flatMap((group) => group.rules);
      return rules.length > 0 && rules.every((rule) => rule.health !== 'unknown') ? true : undefined;
    },
    30_000,
    'Prometheus to evaluate the alert rules',
  );
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
  await browser?.close();
  await platform?.stop();
  longConnection?.close();
  await Promise.all([feishu?.close(), primary?.close(), fallback?.close()]);
});

/** A schema 2.0 im.message.receive_v1 text event as Feishu pushes it over the long connection. */
function feishuMessageEvent(text: string) {
  const now = String(Date.now());
  return {
    schema: '2.0',
    header: {
      event_id: randomBytes(16).toString('hex'),
      event_type: 'im.message.receive_v1',
      create_time: now,
      token: '',
      app_id: FEISHU.appId,
      tenant_key: 't-health',
    },
    event: {
      sender: {
        sender_id: { union_id: 'on_health', user_id: 'user-health', open_id: `ou_${randomBytes(6).toString('hex')}` },
        sender_type: 'user',
        tenant_key: 't-health',
      },
      message: {
        message_id: `om_${randomBytes(16).toString('hex')}`,
        create_time: now,
        update_time: now,
        chat_id: `oc_${randomBytes(16).toString('hex')}`,
        chat_type: 'p2p',
        message_type: 'text',
        content: JSON.stringify({ text }),
      },
    },
  };
}

describe('the console health screen', () => {
  it('shows readiness, the long connection up with its last delivery, and the failing provider held back', async () => {
    // A free-text message over the long connection: its intent call meets the dead primary, which opens the breaker,
    // and the fallback answers.
    const event = feishuMessageEvent('what does the health screen show?');
    expect((await longConnection.waitForAnswer(longConnection.pushEvent(event))).code).toBe(200);
    const workflowId = messageWorkflowId('feishu', event.event.message.message_id);
    const result = (await platform.temporal.workflow.getHandle(workflowId).result()) as RunStatus;
    expect(result).toMatchObject({ outcome: 'replied', reply: 'the fallback answers' });
    expect(primary.requests.length).toBeGreaterThanOrEqual(1);
    // A run on the api channel: its row shows the newest run from the runs table.
    const viaApi = await platform.api('/v1/messages?wait=10', {
      method: 'POST',
      body: JSON.stringify({ conversation_id: 'console-health', text: '/echo health' }),
    });
    expect(viaApi.status).toBe(200);

    const page = await browser.context.newPage();
    await signIn(page, platform.apiUrl, platform.adminKey);
    await page.getByRole('link', { name: 'Health' }).click();
    await page.getByRole('heading', { name: 'Health', level: 1 }).waitFor();
    const row = (text: string) => page.getByRole('row').filter({ hasText: text });
    for (const component of ['Temporal', 'Database', 'Object store']) {
      expect(await row(component).textContent()).toContain('up');
    }

    const stream = await row('Feishu long connection').textContent();
    expect(stream).toMatch(/up since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    expect(stream).not.toContain('none since this process started');
    expect(stream).toContain('none'); // no error so far
    expect(await row('HTTP API').textContent()).toMatch(
      /clients call the API\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(newest run\)/,
    );

    const held = await row('primary-model').textContent();
    expect(held).toMatch(/open until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    expect(held).toMatch(/none since start.*\d\d:\d\d:\d\d UTC$/); // never answered; failed just now
    const answering = await row('fallback-model').textContent();
    expect(answering).toContain('closed');
    expect(answering).toMatch(/\d\d:\d\d:\d\d UTC.*none since start/);

    // Alerts from the real Prometheus: the disk is not 90% full and the audit chain verifies.
    const alerts = page.locator('h2:has-text("Alerts") + p + table');
    expect(await page.locator('main').textContent()).toContain(`Prometheus at ${prometheusUrl} evaluates them`);
    const disk = await alerts.getByRole('row').filter({ hasText: 'ConduitDataDiskAlmostFull' }).textContent();
    expect(disk).toBe(
      'ConduitDataDiskAlmostFullinactivenoneThe Conduit data directory file system is more than 90% full',
    );
    expect(await alerts.getByRole('row').filter({ hasText: 'ConduitAuditChainBroken' }).textContent()).toContain(
      'inactive',
    );
    expect(await alerts.getByRole('row').count()).toBeGreaterThanOrEqual(13); // header + every conduit rule

    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(outputDir, 'console-health.png'), fullPage: true });
    await page.close();
  });

  it('says the breakers are not known in an API process without a worker, and an unreachable Prometheus plainly', async () => {
    // And a PROMETHEUS_URL where nothing listens: the Alerts section says so instead of failing the page.
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const apiOnly = await startTestPlatform(
      { LLM_BASE_URL: primary.baseUrl, LLM_MODEL: 'primary-model', PROMETHEUS_URL: nowhere },
      { worker: false },
    );
    // A browser of its own, closed before the platform stops: its keep-alive connections would hold the stop.
    const ownBrowser = await launchBrowser();
    try {
      const page = await ownBrowser.context.newPage();
      await signIn(page, apiOnly.apiUrl, apiOnly.adminKey);
      await page.goto(`${apiOnly.apiUrl}/console/health`);
      const text = (await page.locator('main').textContent()) ?? '';
      expect(text).toContain('No worker runs in this process');
      expect(text).toContain('conduit_llm_breaker_open');
      expect(text).toContain('primary-model');
      expect(await page.getByRole('columnheader', { name: 'Breaker' }).count()).toBe(0);
      expect(text).toContain(`The alert rules' state is not known: Prometheus at ${nowhere} cannot be reached`);
      expect(await page.getByRole('columnheader', { name: 'Alert', exact: true }).count()).toBe(0);
      expect(await seriousAxeViolations(page)).toEqual([]);
    } finally {
      await ownBrowser.close();
      await apiOnly.stop();
    }
  });

  it('names PROMETHEUS_URL when it is unset', async () => {
    const bare = await startTestPlatform({}, { worker: false });
    const ownBrowser = await launchBrowser();
    try {
      const page = await ownBrowser.context.newPage();
      await signIn(page, bare.apiUrl, bare.adminKey);
      await page.goto(`${bare.apiUrl}/console/health`);
      const text = (await page.locator('main').textContent()) ?? '';
      expect(text).toContain("No Prometheus is configured, so the alert rules' state is not shown here.");
      expect(text).toContain('Set PROMETHEUS_URL');
      expect(await seriousAxeViolations(page)).toEqual([]);
    } finally {
      await ownBrowser.close();
      await bare.stop();
    }
  });
});
