// The webhook channels under attack, on the real platform: each case is what an attacker can send without the
// platform's secrets (forged ciphertexts, replayed signatures, internal callback addresses, floods of unsigned
// requests), and each expectation is what docs/security.md promises about it.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signCustomPayload } from '../channels/custom/signature.js';
import { computeDingTalkSign } from '../channels/dingtalk/sign.js';
import { computeFeishuSignature } from '../channels/feishu/signature.js';
import { createLogger } from '../pii/logger.js';
import { messageWorkflowId, type RunStatus } from '../runs/contract.js';
import { type DingTalkOpenApiFake, startDingTalkOpenApi } from './fakes/dingtalk-open-api.js';
import { encryptFeishuEvent } from './fakes/feishu-open-api.js';
import { eventually, startTestPlatform, type TestPlatform } from './support/platform.js';
import * as runs from './support/runs.js';

const CUSTOM_SECRET = `whsec_hostile_${randomBytes(12).toString('hex')}`;
const DINGTALK = { appKey: 'ding-hostile-app-key', appSecret: `dt-hostile-${randomBytes(12).toString('hex')}` };
const DINGTALK_CORP_ID = 'dingcorphostile';

const FEISHU = {
  appId: 'cli_hostile_app',
  appSecret: `fs-hostile-secret-${randomBytes(12).toString('hex')}`,
  verificationToken: `fs-hostile-token-${randomBytes(8).toString('hex')}`,
  encryptKey: `fs-hostile-key-${randomBytes(8).toString('hex')}`,
};

let platform: TestPlatform;
let dingtalk: DingTalkOpenApiFake;
/** Every line the platform logged, as pino wrote it. */
const logLines: string[] = [];
/** A receiver on loopback: what a callback to an internal address would reach. */
const internalHits: string[] = [];
let internalPort: number;
let closeInternal: () => Promise<void>;

beforeAll(async () => {
  const internal = createServer((req, res) => {
    internalHits.push(req.url ?? '');
    if (req.url?.startsWith('/redirect')) {
      return void res.writeHead(302, { location: `http://127.0.0.1:${internalPort}/admin` }).end();
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => internal.listen(0, '127.0.0.1', resolve));
  internalPort = (internal.address() as AddressInfo).port;
  closeInternal = () =>
    new Promise((resolve) => {
      internal.closeAllConnections();
      internal.close(() => resolve());
    });
  dingtalk = await startDingTalkOpenApi(DINGTALK);
  platform = await startTestPlatform(
    {
      DINGTALK_APP_KEY: DINGTALK.appKey,
      DINGTALK_APP_SECRET: DINGTALK.appSecret,
      DINGTALK_API_BASE_URL: dingtalk.url,
      DINGTALK_CORP_ID,
      CUSTOM_WEBHOOK_SECRET: CUSTOM_SECRET,
      // One name may reach loopback (the redirect case); every other spelling of it may not.
      CUSTOM_CALLBACK_ALLOWED_HOSTS: 'localhost',
      PIPELINE_PROGRESS_DELAY_MS: '600000',
      // Summaries of suppressed refusal lines come every 5 s here instead of every minute.
      WEBHOOK_REFUSAL_LOG_INTERVAL_SECONDS: '5',
      FEISHU_APP_ID: FEISHU.appId,
      FEISHU_APP_SECRET: FEISHU.appSecret,
      FEISHU_VERIFICATION_TOKEN: FEISHU.verificationToken,
      FEISHU_ENCRYPT_KEY: FEISHU.encryptKey,
      // Replies are never sent in this file: nothing here may start a run.
      FEISHU_BASE_URL: 'http://127.0.0.1:9',
    },
    { logger: createLogger('info', { write: (line: string) => void logLines.push(line) }) },
  );
});

afterAll(async () => {
  await platform?.stop();
  await Promise.all([closeInternal?.(), dingtalk?.close()]);
});

interface Answer {
  status: number;
  body: string;
  ms: number;
}

async function post(path: string, headers: Record<string, string>, body: string): Promise<Answer> {
  const started = performance.now();
  const response = await fetch(`${platform.apiUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body,
  });
  const text = await response.text();
  return { status: response.status, body: text, ms: performance.now() - started };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

// ---- Feishu: no padding oracle before the signature -----------------------------------------------------------

describe('Feishu with an encrypt key, attacked without it', () => {
  const now = () => String(Math.floor(Date.now() / 1000));
  /** A body whose ciphertext almost surely fails PKCS#7 unpadding: random blocks the key never produced. */
  const badPadding = () => JSON.stringify({ encrypt: randomBytes(16 * 4).toString('base64') });
  /** A body that unpads fine (made with the key, as a captured event is) but is no challenge. */
  const goodPadding = () =>
    JSON.stringify({
      encrypt: encryptFeishuEvent(
        JSON.stringify({ schema: '2.0', header: { event_id: randomBytes(8).toString('hex') } }),
        FEISHU.encryptKey,
      ),
    });
  const wrongSignature = () => ({
    'x-lark-request-timestamp': now(),
    'x-lark-request-nonce': randomBytes(8).toString('hex'),
    'x-lark-signature': randomBytes(32).toString('hex'),
  });
  const cases: Record<string, () => Promise<Answer>> = {
    'unsigned, bad padding': () => post('/webhooks/feishu', {}, badPadding()),
    'unsigned, good padding': () => post('/webhooks/feishu', {}, goodPadding()),
    'wrong signature, bad padding': () => post('/webhooks/feishu', wrongSignature(), badPadding()),
    'wrong signature, good padding': () => post('/webhooks/feishu', wrongSignature(), goodPadding()),
  };

  it('bad padding, good padding and a wrong signature get the same status and body', async () => {
    const answers = await Promise.all(Object.entries(cases).map(async ([name, send]) => [name, await send()] as const));
    for (const [name, answer] of answers) {
      expect({ name, status: answer.status, body: JSON.parse(answer.body) }).toEqual({
        name,
        status: 401,
        body: { error: { code: 'unauthorized', message: 'Feishu delivery could not be authenticated' } },
      });
    }
  });

  it('bad padding, good padding and a wrong signature take the same time, within noise', async () => {
    const names = Object.keys(cases);
    const times: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
    for (const name of names) await cases[name]!(); // warm up every path once
    // Interleaved, so drift in the machine's load falls on every case alike.
    for (let round = 0; round < 150; round += 1) {
      for (const name of names) times[name]!.push((await cases[name]!()).ms);
    }
    const medians = names.map((name) => median(times[name]!));
    const spread = Math.max(...medians) - Math.min(...medians);
    // A padding oracle needs a difference an attacker can measure; a shared CI machine's noise is well above
    // the microseconds of hashing and decrypting, so the bound is generous: only work of another order on one path
    // (a lookup, a remote call, a delay) would cross it.
    expect(
      spread,
      `medians ${names.map((name, i) => `${name}: ${medians[i]!.toFixed(2)} ms`).join(', ')}`,
    ).toBeLessThan(Math.max(5, Math.min(...medians)));
  });

  it('still answers Feishu’s encrypted url_verification, which arrives unsigned, and refuses a wrong token alike', async () => {
    const challenge = `c-${randomBytes(6).toString('hex')}`;
    const seal = (token: string) =>
      JSON.stringify({
        encrypt: encryptFeishuEvent(JSON.stringify({ challenge, token, type: 'url_verification' }), FEISHU.encryptKey),
      });
    const handshake = await post('/webhooks/feishu', {}, seal(FEISHU.verificationToken));
    expect(handshake.status).toBe(200);
    expect(JSON.parse(handshake.body)).toEqual({ challenge });
    const wrongToken = await post('/webhooks/feishu', {}, seal('guessed-token'));
    expect(wrongToken.status).toBe(401);
    expect(JSON.parse(wrongToken.body).error.message).toBe('Feishu delivery could not be authenticated');
  });

  it('decrypts a signed delivery only after its signature matched', async () => {
    const body = badPadding();
    const timestamp = now();
    const nonce = randomBytes(8).toString('hex');
    const signature = computeFeishuSignature(timestamp, nonce, FEISHU.encryptKey, body);
    const signed = {
      'x-lark-request-timestamp': timestamp,
      'x-lark-request-nonce': nonce,
      'x-lark-signature': signature,
    };
    // Authentic but undecryptable (only Feishu could send it): a precise 400, not the refusal.
    const answer = await post('/webhooks/feishu', signed, body);
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body).error.message).toMatch(/does not decrypt/);
  });
});

// ---- custom: callback_url may not point inside --------------------------------------------------------------

describe('custom callback_url aimed at internal addresses', () => {
  const message = (callbackUrl: string) => ({
    message_id: `m-${randomBytes(8).toString('hex')}`,
    conversation_id: `c-${randomBytes(8).toString('hex')}`,
    sender: { id: 'u1' },
    text: '/echo hello',
    callback_url: callbackUrl,
  });
  const postCustom = (body: object) => {
    const raw = JSON.stringify(body);
    return post(
      '/webhooks/custom',
      { 'x-conduit-signature': signCustomPayload(CUSTOM_SECRET, raw, Math.floor(Date.now() / 1000)) },
      raw,
    );
  };

  it.each([
    ['loopback', (port: number) => `http://127.0.0.1:${port}/hook`],
    ['IPv6 loopback', (port: number) => `http://[::1]:${port}/hook`],
    ['a decimal IPv4', (port: number) => `http://2130706433:${port}/hook`],
    ['a hex shorthand', (port: number) => `http://0x7f.1:${port}/hook`],
    ['an IPv4-mapped IPv6', (port: number) => `http://[::ffff:7f00:1]:${port}/hook`],
    ['the metadata service', () => 'http://169.254.169.254/latest/meta-data/'],
    ['a private range', () => 'http://10.0.0.1/hook'],
  ])('refuses %s with 400 at ingress, starts no run and calls nothing', async (_, url) => {
    const body = message(url(internalPort));
    const answer = await postCustom(body);
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body).error).toEqual({
      code: 'bad_request',
      message: expect.stringMatching(/callback_url .*CUSTOM_CALLBACK_ALLOWED_HOSTS/),
    });
    await runs.expectNoRun(platform, messageWorkflowId('custom', body.message_id));
    expect(internalHits).toEqual([]);
  });

  it('an allow-listed host is called, but its redirect to another internal address is not followed', async () => {
    const body = message(`http://localhost:${internalPort}/redirect`);
    const answer = await postCustom(body);
    expect(answer.status).toBe(202);
    const result = (await platform.temporal.workflow
      .getHandle(messageWorkflowId('custom', body.message_id))
      .result()) as RunStatus;
    // The 302 is a permanent failure of the delivery, tried once, not a retry loop.
    expect(result).toMatchObject({ outcome: 'failed' });
    expect(String(result.deliveryError)).toContain('302');
    expect(internalHits).toEqual(['/redirect']);
  });
});

// ---- a flood of refused deliveries -------------------------------------------------------------------------------

describe('a flood of unsigned webhook deliveries', () => {
  it('is counted in full in metrics but sampled in the log, with a summary of what was left out', async () => {
    const series = 'conduit_inbound_messages_total{channel="custom",outcome="rejected",reason="unauthorized"}';
    const before = await runs.metricValue(platform, series);
    const from = logLines.length;
    const started = Date.now();
    const total = 2000;
    let next = 0;
    // 20 at a time, as a scripted attacker would.
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < total) {
          next += 1;
          const answer = await post('/webhooks/custom', {}, '{"message_id":"x"}');
          expect(answer.status).toBe(401);
        }
      }),
    );
    const intervals = Math.ceil((Date.now() - started) / 5000) + 1;
    expect(await runs.metricValue(platform, series)).toBe(before + total);

    const entries = () =>
      logLines
        .slice(from)
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((entry) => entry['channel'] === 'custom' && entry['code'] === 'unauthorized');
    const single = entries().filter((entry) => entry['msg'] === 'webhook delivery rejected');
    expect(single.length).toBeGreaterThanOrEqual(10);
    expect(single.length).toBeLessThanOrEqual(10 * intervals);
    // Once the interval has passed, the summaries account for every refusal that was not logged on its own.
    const suppressed = await eventually(
      async () => {
        const summaries = entries().filter((entry) => entry['msg'] === 'delivery rejections not logged one by one');
        const count = summaries.reduce((sum, entry) => sum + Number(entry['suppressed']), 0);
        return count + single.length === total ? count : undefined;
      },
      15_000,
      'the summary lines',
    );
    expect(suppressed).toBeGreaterThan(total - 10 * intervals - 1);
  });
});

// ---- DingTalk: a captured (timestamp, sign) pair carries no new body in ------------------------------------------

describe('DingTalk signatures replayed with another body', () => {
  const callback = (overrides: Record<string, unknown> = {}) => ({
    msgId: `msg${randomBytes(12).toString('base64url')}`,
    msgtype: 'text',
    text: { content: ' /echo hello' },
    conversationId: `cid${randomBytes(12).toString('base64')}`,
    conversationType: '1',
    senderStaffId: `staff-${randomBytes(4).toString('hex')}`,
    senderNick: 'Ann',
    chatbotCorpId: DINGTALK_CORP_ID,
    robotCode: DINGTALK.appKey,
    sessionWebhook: dingtalk.sessionWebhookUrl(`s-${randomBytes(4).toString('hex')}`),
    sessionWebhookExpiredTime: Date.now() + 90 * 60_000,
    createAt: Date.now(),
    ...overrides,
  });
  const pair = (at = Date.now()) => ({
    timestamp: String(at),
    sign: computeDingTalkSign(DINGTALK.appSecret, String(at)),
  });
  const postDingTalk = (target: TestPlatform, headers: Record<string, string>, body: object) =>
    fetch(`${target.apiUrl}/webhooks/dingtalk`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
      body: JSON.stringify(body),
    });
  const noRun = (msgId: string) => runs.expectNoRun(platform, messageWorkflowId('dingtalk', msgId));

  it('refuses a pair already used, with a new body and a forged sender, on this replica and on another', async () => {
    const headers = pair();
    const original = callback();
    expect((await postDingTalk(platform, headers, original)).status).toBe(200);
    const forged = callback({ senderStaffId: 'the-boss', text: { content: ' /echo wire the money' } });
    const replayed = await postDingTalk(platform, headers, forged);
    expect(replayed.status).toBe(401);
    expect(((await replayed.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    await noRun(forged.msgId);

    // A second API process on the same database refuses it too.
    const replica = await startTestPlatform(
      {
        DINGTALK_APP_KEY: DINGTALK.appKey,
        DINGTALK_APP_SECRET: DINGTALK.appSecret,
        DINGTALK_API_BASE_URL: dingtalk.url,
        DINGTALK_CORP_ID,
      },
      { worker: false },
    );
    try {
      const again = callback({ senderStaffId: 'the-boss' });
      expect((await postDingTalk(replica, headers, again)).status).toBe(401);
      await noRun(again.msgId);
    } finally {
      await replica.stop();
    }
  });

  it('lets the same message redelivered with the same pair through, and it runs once', async () => {
    const headers = pair();
    const message = callback();
    const workflowId = messageWorkflowId('dingtalk', message.msgId);
    const answers = await Promise.all([
      postDingTalk(platform, headers, message),
      postDingTalk(platform, headers, message),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    await platform.temporal.workflow.getHandle(workflowId).result();
    expect((await postDingTalk(platform, headers, message)).status).toBe(200);
    expect(await runs.executionsOf(platform, workflowId)).toBe(1);
  });

  it('refuses a correctly signed timestamp 50 minutes old (DingTalk itself allows an hour)', async () => {
    const message = callback();
    const answer = await postDingTalk(platform, pair(Date.now() - 50 * 60_000), message);
    expect(answer.status).toBe(401);
    await noRun(message.msgId);
  });

  it('refuses a body for another robot or another organisation', async () => {
    for (const overrides of [{ robotCode: 'someone-elses-robot' }, { chatbotCorpId: 'dingothercorp' }]) {
      const message = callback(overrides);
      const answer = await postDingTalk(platform, pair(), message);
      expect(answer.status).toBe(401);
      await noRun(message.msgId);
    }
  });
});
