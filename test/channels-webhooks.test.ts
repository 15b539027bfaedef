// The webhook channels end to end on the real platform (Temporal, PostgreSQL, MinIO): each request is built the
// way its platform sends it, and each reply is caught where the platform would receive it: a local callback
// server (custom), and the DingTalk and Feishu fakes standing in for their open APIs.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WorkflowNotFoundError } from '@temporalio/client';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signCustomPayload, verifyCustomSignature } from '../channels/custom/signature.js';
import { computeDingTalkSign } from '../channels/dingtalk/sign.js';
import { computeFeishuSignature } from '../channels/feishu/signature.js';
import { replyOutbox } from '../db/schema.js';
import { createLogger } from '../pii/logger.js';
import { messageWorkflowId, type RunStatus } from '../runs/contract.js';
import { type DingTalkOpenApiFake, startDingTalkOpenApi } from './fakes/dingtalk-open-api.js';
import { encryptFeishuEvent, type FeishuOpenApiFake, startFeishuOpenApi } from './fakes/feishu-open-api.js';
import { startTestPlatform, type TestPlatform } from './support/platform.js';
import * as runs from './support/runs.js';

const CUSTOM_SECRET = `whsec_it_${randomBytes(12).toString('hex')}`;
const DINGTALK = { appKey: 'ding-it-app-key', appSecret: `dt-it-secret-${randomBytes(12).toString('hex')}` };
const FEISHU = {
  appId: 'cli_it_app',
  appSecret: `fs-it-secret-${randomBytes(12).toString('hex')}`,
  verificationToken: `fs-it-token-${randomBytes(8).toString('hex')}`,
  encryptKey: `fs-it-key-${randomBytes(8).toString('hex')}`,
};
const SECRETS = [CUSTOM_SECRET, DINGTALK.appSecret, FEISHU.appSecret, FEISHU.verificationToken, FEISHU.encryptKey];

interface Callback {
  headers: IncomingHttpHeaders;
  body: string;
}

let platform: TestPlatform;
let dingtalk: DingTalkOpenApiFake;
let feishu: FeishuOpenApiFake;
let callbackUrl: string;
let closeCallbackServer: () => Promise<void>;
const callbacks: Callback[] = [];
/** The idempotency keys the `/fails-once` receiver has answered 500 to. */
const failedOnce = new Set<string>();
/** Every line the platform logged, as pino wrote it. */
const logLines: string[] = [];

beforeAll(async () => {
  dingtalk = await startDingTalkOpenApi(DINGTALK);
  feishu = await startFeishuOpenApi({ appId: FEISHU.appId, appSecret: FEISHU.appSecret });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      callbacks.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      // A receiver that no longer exists: Conduit cannot deliver there, and retrying will not help.
      if (req.url?.endsWith('/gone')) return void res.writeHead(410).end();
      // A receiver that processed the first delivery of each key but failed to answer it: Conduit retries.
      const key = String(req.headers['idempotency-key']);
      if (req.url?.endsWith('/fails-once') && !failedOnce.has(key)) {
        failedOnce.add(key);
        return void res.writeHead(500).end();
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  callbackUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/conduit-replies`;
  closeCallbackServer = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });

  platform = await startTestPlatform(
    {
      CUSTOM_WEBHOOK_SECRET: CUSTOM_SECRET,
      // The callback receiver listens on loopback, which callbacks reach only when the operator allows it.
      CUSTOM_CALLBACK_ALLOWED_HOSTS: '127.0.0.1',
      DINGTALK_APP_KEY: DINGTALK.appKey,
      DINGTALK_APP_SECRET: DINGTALK.appSecret,
      DINGTALK_API_BASE_URL: dingtalk.url,
      FEISHU_APP_ID: FEISHU.appId,
      FEISHU_APP_SECRET: FEISHU.appSecret,
      FEISHU_VERIFICATION_TOKEN: FEISHU.verificationToken,
      FEISHU_ENCRYPT_KEY: FEISHU.encryptKey,
      FEISHU_BASE_URL: feishu.url,
      // Only final replies in these tests: /echo answers at once, and no "working on it" notice interleaves.
      PIPELINE_PROGRESS_DELAY_MS: '600000',
    },
    { logger: createLogger('info', { write: (line: string) => void logLines.push(line) }) },
  );
});

afterAll(async () => {
  await platform?.stop();
  await Promise.all([dingtalk?.close(), feishu?.close(), closeCallbackServer?.()]);
});

const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;

async function runResult(workflowId: string): Promise<RunStatus> {
  return (await platform.temporal.workflow.getHandle(workflowId).result()) as RunStatus;
}

const executionsOf = (workflowId: string) => runs.executionsOf(platform, workflowId);
const expectNoRun = (workflowId: string) => runs.expectNoRun(platform, workflowId);
const metricValue = (series: string) => runs.metricValue(platform, series);

async function errorOf(response: Response): Promise<{ code: string; message: string }> {
  return ((await response.json()) as { error: { code: string; message: string } }).error;
}

// ---- custom: Conduit's own signed endpoint ------------------------------------------------------------------

function customMessage(overrides: Record<string, unknown> = {}) {
  const messageId = unique('m');
  return {
    message_id: messageId,
    conversation_id: unique('c'),
    sender: { id: unique('u'), name: 'Ann' },
    text: `/echo hello ${messageId}`,
    callback_url: callbackUrl,
    ...overrides,
  };
}

function postCustom(
  body: unknown,
  options: { secret?: string; t?: number; signature?: string | null; query?: string } = {},
): Promise<Response> {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const t = options.t ?? Math.floor(Date.now() / 1000);
  const signature =
    options.signature === undefined ? signCustomPayload(options.secret ?? CUSTOM_SECRET, raw, t) : options.signature;
  return fetch(`${platform.apiUrl}/webhooks/custom${options.query ?? ''}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(signature === null ? {} : { 'x-conduit-signature': signature }),
    },
    body: raw,
  });
}

const callbacksFor = (messageId: string) =>
  callbacks.filter((call) => (JSON.parse(call.body) as { in_reply_to?: string }).in_reply_to === messageId);

describe('custom webhook', () => {
  it('accepts a signed message with 202 and its status URL, then POSTs the signed reply to callback_url once', async () => {
    const message = customMessage();
    const response = await postCustom(message);
    expect(response.status).toBe(202);
    const workflowId = messageWorkflowId('custom', message.message_id);
    const accepted = await response.json();
    expect(accepted).toEqual({
      workflowId,
      runId: expect.any(String),
      duplicate: false,
      statusUrl: `/v1/runs/${encodeURIComponent(workflowId)}`,
    });

    const result = await runResult(workflowId);
    expect(result).toMatchObject({ outcome: 'replied', reply: `hello ${message.message_id}` });
    const delivered = callbacksFor(message.message_id);
    expect(delivered).toHaveLength(1);
    const [callback] = delivered;
    expect(JSON.parse(callback!.body)).toEqual({
      message_id: `${message.message_id}:reply`,
      conversation_id: message.conversation_id,
      in_reply_to: message.message_id,
      text: `hello ${message.message_id}`,
      format: 'markdown',
      kind: 'reply',
      idempotency_key: `${workflowId}:final`,
    });
    expect(callback!.headers['idempotency-key']).toBe(`${workflowId}:final`);
    const signature = callback!.headers['x-conduit-signature'];
    expect(typeof signature).toBe('string');
    expect(() => verifyCustomSignature(signature as string, callback!.body, [CUSTOM_SECRET], new Date())).not.toThrow();

    const status = await platform.api((accepted as { statusUrl: string }).statusUrl);
    expect(await status.json()).toMatchObject({ state: 'COMPLETED', status: { reply: `hello ${message.message_id}` } });
  });

  it('with ?wait=10 answers 200 with the run and its reply in the same exchange', async () => {
    const message = customMessage();
    const response = await postCustom(message, { query: '?wait=10' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      workflowId: messageWorkflowId('custom', message.message_id),
      duplicate: false,
      result: { outcome: 'replied', reply: `hello ${message.message_id}`, step: 'done' },
    });
    expect(callbacksFor(message.message_id)).toHaveLength(1);
  });

  it('with ?wait, says the run failed when its reply cannot be delivered to callback_url', async () => {
    const message = customMessage({ callback_url: `${callbackUrl}/gone` });
    const response = await postCustom(message, { query: '?wait=10' });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      workflowId: messageWorkflowId('custom', message.message_id),
      result: { outcome: 'failed', step: 'done' },
    });
    expect(String((body['result'] as Record<string, unknown>)['deliveryError'])).toContain('410');
    // A permanent refusal (HTTP 410) is not retried.
    expect(callbacksFor(message.message_id)).toHaveLength(1);
  });

  it('retries a callback answered 500 with the same idempotency key, in the header and the signed body', async () => {
    const message = customMessage({ callback_url: `${callbackUrl}/fails-once` });
    const workflowId = messageWorkflowId('custom', message.message_id);
    expect((await postCustom(message)).status).toBe(202);
    expect(await runResult(workflowId)).toMatchObject({ outcome: 'replied' });

    const delivered = callbacksFor(message.message_id);
    expect(delivered).toHaveLength(2);
    for (const callback of delivered) {
      expect(callback.headers['idempotency-key']).toBe(`${workflowId}:final`);
      expect(JSON.parse(callback.body)).toMatchObject({ idempotency_key: `${workflowId}:final` });
      const signature = callback.headers['x-conduit-signature'] as string;
      expect(() => verifyCustomSignature(signature, callback.body, [CUSTOM_SECRET], new Date())).not.toThrow();
    }
    expect(delivered[1]!.body).toBe(delivered[0]!.body);
  });

  it('a message redelivered three times starts one run and posts one reply', async () => {
    const message = customMessage();
    const workflowId = messageWorkflowId('custom', message.message_id);
    const [first, second] = await Promise.all([postCustom(message), postCustom(message)]);
    const answers = [await first!.json(), await second!.json()] as Array<{ runId: string; duplicate: boolean }>;
    expect([first!.status, second!.status].sort()).toEqual([200, 202]);
    expect(answers.map((answer) => answer.duplicate).sort()).toEqual([false, true]);
    expect(answers[0]!.runId).toBe(answers[1]!.runId);
    await runResult(workflowId);

    const third = await postCustom(message);
    expect(third.status).toBe(200);
    expect(await third.json()).toMatchObject({ runId: answers[0]!.runId, duplicate: true });
    expect(await executionsOf(workflowId)).toBe(1);
    expect(callbacksFor(message.message_id)).toHaveLength(1);
  });

  it('refuses a forged signature or a missing header with 401 and starts no run', async () => {
    const forged = customMessage();
    const response = await postCustom(forged, { secret: 'whsec_guessed' });
    expect(response.status).toBe(401);
    expect(await errorOf(response)).toEqual({ code: 'unauthorized', message: 'signature does not match' });
    await expectNoRun(messageWorkflowId('custom', forged.message_id));

    const unsigned = customMessage();
    const missing = await postCustom(unsigned, { signature: null });
    expect(missing.status).toBe(401);
    expect((await errorOf(missing)).message).toMatch(/missing X-Conduit-Signature/);
    await expectNoRun(messageWorkflowId('custom', unsigned.message_id));
  });

  it('refuses a signature older than five minutes with 401 and starts no run', async () => {
    const message = customMessage();
    const response = await postCustom(message, { t: Math.floor(Date.now() / 1000) - 301 });
    expect(response.status).toBe(401);
    expect((await errorOf(response)).message).toMatch(/outside the allowed window/);
    await expectNoRun(messageWorkflowId('custom', message.message_id));
  });

  it('refuses malformed JSON and a body missing a field with 400', async () => {
    const broken = await postCustom('{"message_id":"m-broken","text":');
    expect(broken.status).toBe(400);
    expect(await errorOf(broken)).toEqual({ code: 'bad_request', message: 'body is not valid JSON' });
    await expectNoRun(messageWorkflowId('custom', 'm-broken'));

    const message = customMessage({ text: undefined });
    const incomplete = await postCustom(message);
    expect(incomplete.status).toBe(400);
    expect((await errorOf(incomplete)).message).toMatch(/^invalid message: text/);
    await expectNoRun(messageWorkflowId('custom', message.message_id));
  });

  it('refuses a body over 1 MiB with 413, with or without a Content-Length', async () => {
    const message = customMessage({ text: 'x'.repeat(1024 * 1024) });
    const response = await postCustom(message);
    expect(response.status).toBe(413);
    expect((await errorOf(response)).code).toBe('payload_too_large');
    // The unread rest of the body spoils the connection, so the server closes it instead of reusing it.
    expect(response.headers.get('connection')).toBe('close');

    const raw = new TextEncoder().encode(JSON.stringify(message));
    const chunked = await fetch(`${platform.apiUrl}/webhooks/custom`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-conduit-signature': signCustomPayload(CUSTOM_SECRET, JSON.stringify(message), Math.floor(Date.now() / 1000)),
      },
      body: new ReadableStream<Uint8Array>({
        start(controller) {
          for (let offset = 0; offset < raw.length; offset += 64 * 1024) {
            controller.enqueue(raw.subarray(offset, offset + 64 * 1024));
          }
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(chunked.headers.get('connection')).toBe('close');
    await expectNoRun(messageWorkflowId('custom', message.message_id));
    // The next delivery from the same client goes through.
    expect((await postCustom(customMessage())).status).toBe(202);
  });

  it('answers 404 for channels that take no webhooks here', async () => {
    for (const name of ['wecom', 'api']) {
      const response = await fetch(`${platform.apiUrl}/webhooks/${name}`, { method: 'POST', body: '{}' });
      expect(response.status).toBe(404);
      expect((await errorOf(response)).code).toBe('not_found');
    }
  });
});

// ---- DingTalk: enterprise robot, HTTP callback mode -----------------------------------------------------------

function dingtalkCallback(options: { text: string; group?: boolean; expiresAt?: number; session?: string }) {
  const now = Date.now();
  const group = options.group ?? false;
  return {
    conversationId: `cid${randomBytes(12).toString('base64')}`,
    atUsers: group ? [{ dingtalkId: '$:LWCP_v1:$robot' }] : [],
    chatbotCorpId: 'dingcorp',
    chatbotUserId: '$:LWCP_v1:$robot',
    msgId: `msg${randomBytes(12).toString('base64url')}`,
    senderNick: 'Ann',
    isAdmin: false,
    senderStaffId: unique('staff'),
    sessionWebhookExpiredTime: options.expiresAt ?? now + 90 * 60_000,
    createAt: now,
    senderCorpId: 'dingcorp',
    conversationType: group ? '2' : '1',
    ...(group ? { conversationTitle: 'Team', isInAtList: true } : {}),
    senderId: `$:LWCP_v1:$${randomBytes(8).toString('hex')}`,
    sessionWebhook: dingtalk.sessionWebhookUrl(options.session ?? unique('session')),
    robotCode: DINGTALK.appKey,
    msgtype: 'text',
    // DingTalk removes the robot's @mention and leaves the leading space.
    text: { content: ` ${options.text}` },
  };
}

function postDingTalk(body: unknown, secret = DINGTALK.appSecret): Promise<Response> {
  const timestamp = String(Date.now());
  return fetch(`${platform.apiUrl}/webhooks/dingtalk`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json; charset=utf-8',
      timestamp,
      sign: computeDingTalkSign(secret, timestamp),
    },
    body: JSON.stringify(body),
  });
}

const sessionCalls = (session: string) =>
  dingtalk.received.filter((call) => call.path === '/robot/sendBySession' && call.query['session'] === session);

describe('DingTalk webhook', () => {
  it('acknowledges a signed callback with 200 and replies through its session webhook', async () => {
    const session = unique('session');
    const callback = dingtalkCallback({ text: '/echo 你好 DingTalk', group: true, session });
    const response = await postDingTalk(callback);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({});

    const result = await runResult(messageWorkflowId('dingtalk', callback.msgId));
    expect(result).toMatchObject({ outcome: 'replied', reply: '你好 DingTalk' });
    const calls = sessionCalls(session);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.body).toEqual({
      msgtype: 'markdown',
      markdown: { title: '你好 DingTalk', text: '你好 DingTalk' },
    });
  });

  it('after sessionWebhookExpiredTime, replies through the robot OpenAPI with an access token', async () => {
    const session = unique('session');
    const expired = Date.now() - 1000;
    const single = dingtalkCallback({ text: '/echo one to one', expiresAt: expired, session });
    const group = dingtalkCallback({ text: '/echo to the group', group: true, expiresAt: expired, session });
    expect((await postDingTalk(single)).status).toBe(200);
    expect((await postDingTalk(group)).status).toBe(200);
    await Promise.all([single, group].map((body) => runResult(messageWorkflowId('dingtalk', body.msgId))));

    expect(sessionCalls(session)).toHaveLength(0);
    expect(dingtalk.tokenRequests.length).toBeGreaterThanOrEqual(1);
    expect(dingtalk.tokenRequests[0]!.body).toEqual({ appKey: DINGTALK.appKey, appSecret: DINGTALK.appSecret });
    const oto = dingtalk.received.filter(
      (call) => call.path === '/v1.0/robot/oToMessages/batchSend' && call.body !== undefined,
    );
    const toSingle = oto.filter((call) => (call.body as { userIds: string[] }).userIds[0] === single.senderStaffId);
    expect(toSingle).toHaveLength(1);
    expect(toSingle[0]!.headers['x-acs-dingtalk-access-token']).toMatch(/^dt-fake-/);
    expect(toSingle[0]!.body).toEqual({
      robotCode: DINGTALK.appKey,
      userIds: [single.senderStaffId],
      msgKey: 'sampleMarkdown',
      msgParam: JSON.stringify({ title: 'one to one', text: 'one to one' }),
    });
    const toGroup = dingtalk.received.filter(
      (call) =>
        call.path === '/v1.0/robot/groupMessages/send' &&
        (call.body as { openConversationId: string }).openConversationId === group.conversationId,
    );
    expect(toGroup).toHaveLength(1);
    expect(toGroup[0]!.headers['x-acs-dingtalk-access-token']).toMatch(/^dt-fake-/);
  });

  it('a callback redelivered three times starts one run and sends one reply', async () => {
    const session = unique('session');
    const callback = dingtalkCallback({ text: '/echo once', session });
    const workflowId = messageWorkflowId('dingtalk', callback.msgId);
    const responses = await Promise.all([postDingTalk(callback), postDingTalk(callback)]);
    expect(responses.map((response) => response.status)).toEqual([200, 200]);
    await runResult(workflowId);
    expect((await postDingTalk(callback)).status).toBe(200);
    expect(await executionsOf(workflowId)).toBe(1);
    expect(sessionCalls(session)).toHaveLength(1);
  });

  it('refuses a callback signed with another secret with 401 and starts no run', async () => {
    const callback = dingtalkCallback({ text: '/echo forged' });
    const response = await postDingTalk(callback, 'SECguessed');
    expect(response.status).toBe(401);
    expect(await errorOf(response)).toEqual({ code: 'unauthorized', message: 'DingTalk signature does not match' });
    await expectNoRun(messageWorkflowId('dingtalk', callback.msgId));
  });
});

// ---- Feishu / Lark: event subscription v2, encrypted and signed ----------------------------------------------

function feishuMessageEvent(text: string, options: { chatType?: 'p2p' | 'group'; token?: string } = {}) {
  const now = Date.now();
  const group = options.chatType === 'group';
  return {
    schema: '2.0',
    header: {
      event_id: randomBytes(16).toString('hex'),
      event_type: 'im.message.receive_v1',
      create_time: String(now),
      token: options.token ?? FEISHU.verificationToken,
      app_id: FEISHU.appId,
      tenant_key: '2ca1d211f64f6438',
    },
    event: {
      sender: {
        sender_id: { union_id: unique('on'), user_id: unique('user'), open_id: unique('ou') },
        sender_type: 'user',
        tenant_key: '2ca1d211f64f6438',
      },
      message: {
        message_id: `om_${randomBytes(16).toString('hex')}`,
        create_time: String(now),
        update_time: String(now),
        chat_id: `oc_${randomBytes(16).toString('hex')}`,
        chat_type: group ? 'group' : 'p2p',
        message_type: 'text',
        content: JSON.stringify({ text: group ? `@_user_1 ${text}` : text }),
        ...(group
          ? {
              mentions: [
                {
                  key: '@_user_1',
                  id: { union_id: 'on_bot', user_id: '', open_id: 'ou_bot' },
                  name: 'Conduit',
                  tenant_key: '2ca1d211f64f6438',
                  mentioned_type: 'bot',
                },
              ],
            }
          : {}),
        user_agent: 'Mozilla/5.0 Lark/7.20.5',
      },
    },
  };
}

/** The body and headers Feishu sends with an Encrypt Key configured: `{"encrypt"}`, signed over the raw body. */
function sealFeishu(payload: unknown, options: { sign?: boolean } = {}) {
  const body = JSON.stringify({ encrypt: encryptFeishuEvent(JSON.stringify(payload), FEISHU.encryptKey) });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = randomBytes(8).toString('hex');
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  if (options.sign !== false) {
    headers['x-lark-request-timestamp'] = timestamp;
    headers['x-lark-request-nonce'] = nonce;
    headers['x-lark-signature'] = computeFeishuSignature(timestamp, nonce, FEISHU.encryptKey, body);
  }
  return { headers, body };
}

function postFeishu(payload: unknown, options: { sign?: boolean; query?: string } = {}): Promise<Response> {
  const { headers, body } = sealFeishu(payload, options);
  return fetch(`${platform.apiUrl}/webhooks/feishu${options.query ?? ''}`, { method: 'POST', headers, body });
}

const replyCalls = (messageId: string) =>
  feishu.received.filter((call) => call.path === `/open-apis/im/v1/messages/${messageId}/reply`);

describe('Feishu webhook', () => {
  const challenge = (token = FEISHU.verificationToken) => ({
    challenge: `challenge-${randomBytes(6).toString('hex')}`,
    token,
    type: 'url_verification',
  });

  it('answers an encrypted url_verification, signed or not, with the challenge', async () => {
    for (const sign of [false, true]) {
      const handshake = challenge();
      const response = await postFeishu(handshake, { sign });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ challenge: handshake.challenge });
    }
  });

  it('refuses a url_verification or an event carrying the wrong verification token with 401', async () => {
    const handshake = await postFeishu(challenge('guessed-token'));
    expect(handshake.status).toBe(401);
    expect(await errorOf(handshake)).toEqual({
      code: 'unauthorized',
      message: 'Feishu verification token does not match',
    });

    const event = feishuMessageEvent('/echo forged', { token: 'guessed-token' });
    const response = await postFeishu(event);
    expect(response.status).toBe(401);
    await expectNoRun(messageWorkflowId('feishu', event.event.message.message_id));
  });

  it('acknowledges an encrypted, signed message event with 200 at once and replies through the IM API', async () => {
    const event = feishuMessageEvent('/echo 你好 Feishu', { chatType: 'group' });
    const messageId = event.event.message.message_id;
    const started = Date.now();
    // A waiting caller is not honoured here: Feishu needs its 200 within 3 seconds.
    const response = await postFeishu(event, { query: '?wait=30' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({});
    expect(Date.now() - started).toBeLessThan(3000);

    const result = await runResult(messageWorkflowId('feishu', messageId));
    expect(result).toMatchObject({ outcome: 'replied', reply: '你好 Feishu' });
    const calls = replyCalls(messageId);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.method).toBe('POST');
    expect(calls[0]!.headers.authorization).toMatch(/^Bearer t-fake-/);
    const body = calls[0]!.body as { msg_type: string; content: string; uuid: string };
    expect(body.msg_type).toBe('post');
    expect(JSON.parse(body.content)).toEqual({ zh_cn: { content: [[{ tag: 'md', text: '你好 Feishu' }]] } });
    expect(body.uuid).toMatch(/^[0-9a-f]{40}$/);
  });

  it('refuses an event that is not signed, or signed over another body, with 401 and starts no run', async () => {
    const unsigned = feishuMessageEvent('/echo unsigned');
    expect((await postFeishu(unsigned, { sign: false })).status).toBe(401);
    await expectNoRun(messageWorkflowId('feishu', unsigned.event.message.message_id));

    const tampered = feishuMessageEvent('/echo tampered');
    const sealed = sealFeishu(tampered);
    const other = sealFeishu(feishuMessageEvent('/echo other'));
    const response = await fetch(`${platform.apiUrl}/webhooks/feishu`, {
      method: 'POST',
      headers: { ...sealed.headers, 'x-lark-signature': other.headers['x-lark-signature']! },
      body: sealed.body,
    });
    expect(response.status).toBe(401);
    await expectNoRun(messageWorkflowId('feishu', tampered.event.message.message_id));
  });

  it('answers an unhandled event type with 200, starts no run and counts it as ignored', async () => {
    const series = 'conduit_inbound_messages_total{channel="feishu",outcome="ignored",reason="unhandled_event_type"}';
    const before = await metricValue(series);
    const event = feishuMessageEvent('/echo not a message');
    event.header.event_type = 'im.chat.member.bot.added_v1';
    const response = await postFeishu(event);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, ignored: 'unhandled_event_type' });
    expect(await metricValue(series)).toBe(before + 1);
    await expectNoRun(messageWorkflowId('feishu', event.event.message.message_id));
  });

  it('an event redelivered three times starts one run and sends one reply', async () => {
    const event = feishuMessageEvent('/echo just once');
    const messageId = event.event.message.message_id;
    const workflowId = messageWorkflowId('feishu', messageId);
    const responses = await Promise.all([postFeishu(event), postFeishu(event)]);
    expect(responses.map((response) => response.status)).toEqual([200, 200]);
    await runResult(workflowId);
    expect((await postFeishu(event)).status).toBe(200);
    expect(await executionsOf(workflowId)).toBe(1);
    expect(replyCalls(messageId)).toHaveLength(1);
  });

  it('refreshes an expired tenant token once and still delivers the reply', async () => {
    // A first reply makes sure a token is cached before it is expired.
    const warmUp = feishuMessageEvent('/echo warm up');
    await postFeishu(warmUp);
    await runResult(messageWorkflowId('feishu', warmUp.event.message.message_id));

    feishu.expireTokens();
    const tokensBefore = feishu.tokenRequests.length;
    const event = feishuMessageEvent('/echo after expiry');
    const messageId = event.event.message.message_id;
    expect((await postFeishu(event)).status).toBe(200);
    expect(await runResult(messageWorkflowId('feishu', messageId))).toMatchObject({ reply: 'after expiry' });

    expect(feishu.tokenRequests.length).toBe(tokensBefore + 1);
    const calls = replyCalls(messageId);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.headers.authorization).not.toBe(calls[0]!.headers.authorization);
  });

  it('retries a rate-limited reply (code 99991400) in the reply activity and delivers it once', async () => {
    const event = feishuMessageEvent('/echo slow down');
    const messageId = event.event.message.message_id;
    const workflowId = messageWorkflowId('feishu', messageId);
    feishu.failNext({ code: 99991400, msg: 'request trigger frequency limit' });
    expect((await postFeishu(event)).status).toBe(200);
    expect(await runResult(workflowId)).toMatchObject({ outcome: 'replied', reply: 'slow down' });

    const calls = replyCalls(messageId);
    expect(calls).toHaveLength(2);
    const uuids = calls.map((call) => (call.body as { uuid: string }).uuid);
    expect(uuids[1]).toBe(uuids[0]);
    // The second call is the reply activity's second attempt (a Temporal retry of the local activity), not a retry
    // inside the adapter: the outbox counts one claim per attempt.
    const [row] = await platform.database.db
      .select({ attempts: replyOutbox.attempts, status: replyOutbox.status })
      .from(replyOutbox)
      .where(eq(replyOutbox.key, `${workflowId}:final`));
    expect(row).toEqual({ attempts: 2, status: 'sent' });
  });
});

// ---- a platform with Feishu alone, verification token and no encrypt key -------------------------------------

describe('a platform with only Feishu configured, without an encrypt key', () => {
  let feishuOnly: TestPlatform;
  beforeAll(async () => {
    feishuOnly = await startTestPlatform(
      {
        FEISHU_APP_ID: FEISHU.appId,
        FEISHU_APP_SECRET: FEISHU.appSecret,
        FEISHU_VERIFICATION_TOKEN: FEISHU.verificationToken,
        FEISHU_BASE_URL: feishu.url,
      },
      { worker: false },
    );
  });
  afterAll(async () => {
    await feishuOnly?.stop();
  });

  it('answers 404 for the custom and DingTalk channels it does not enable', async () => {
    const message = customMessage();
    const body = JSON.stringify(message);
    const t = Math.floor(Date.now() / 1000);
    const custom = await fetch(`${feishuOnly.apiUrl}/webhooks/custom`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-conduit-signature': signCustomPayload(CUSTOM_SECRET, body, t) },
      body,
    });
    expect(custom.status).toBe(404);
    expect(await errorOf(custom)).toEqual({ code: 'not_found', message: 'this channel is not enabled' });
    await expect(
      feishuOnly.temporal.workflow.getHandle(messageWorkflowId('custom', message.message_id)).describe(),
    ).rejects.toBeInstanceOf(WorkflowNotFoundError);

    const timestamp = String(Date.now());
    const dingtalkResponse = await fetch(`${feishuOnly.apiUrl}/webhooks/dingtalk`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        timestamp,
        sign: computeDingTalkSign(DINGTALK.appSecret, timestamp),
      },
      body: JSON.stringify(dingtalkCallback({ text: '/echo nobody home' })),
    });
    expect(dingtalkResponse.status).toBe(404);
  });

  it('answers a plain url_verification with the challenge, and refuses a wrong token with 401', async () => {
    const post = (payload: unknown) =>
      fetch(`${feishuOnly.apiUrl}/webhooks/feishu`, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify(payload),
      });
    const handshake = await post({
      challenge: 'ajls384kdjx98XX',
      token: FEISHU.verificationToken,
      type: 'url_verification',
    });
    expect(handshake.status).toBe(200);
    expect(await handshake.json()).toEqual({ challenge: 'ajls384kdjx98XX' });
    const wrong = await post({ challenge: 'ajls384kdjx98XX', token: 'guessed-token', type: 'url_verification' });
    expect(wrong.status).toBe(401);
  });
});

// ---- what the logs say about refused deliveries ---------------------------------------------------------------

describe('rejection logs', () => {
  it('log every refused delivery with channel and reason, and never a secret or the message body', async () => {
    const from = logLines.length;
    const marker = unique('body-marker');
    await postCustom(customMessage({ text: marker }), { secret: 'whsec_guessed' });
    await postCustom(customMessage({ text: `${marker} ${'x'.repeat(1024 * 1024)}` }));
    await postCustom(`{"text":"${marker}"`);
    await postDingTalk(dingtalkCallback({ text: marker }), 'SECguessed');
    await postFeishu(feishuMessageEvent(marker, { token: 'guessed-token' }));
    await fetch(`${platform.apiUrl}/webhooks/wecom`, { method: 'POST', body: marker });

    const rejected = logLines
      .slice(from)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => entry['msg'] === 'webhook delivery rejected');
    expect(rejected.map((entry) => [entry['channel'], entry['code']])).toEqual([
      ['custom', 'unauthorized'],
      ['custom', 'payload_too_large'],
      ['custom', 'bad_request'],
      ['dingtalk', 'unauthorized'],
      ['feishu', 'unauthorized'],
      ['unknown', 'not_found'],
    ]);
    for (const entry of rejected) {
      expect(entry['level']).toBe(40);
      expect(entry['reason']).toEqual(expect.any(String));
      expect(entry['requestId']).toEqual(expect.any(String));
    }
    const rejectedText = rejected.map((entry) => JSON.stringify(entry)).join('\n');
    expect(rejectedText).not.toContain(marker);
    expect(rejectedText).not.toContain('x-conduit-signature');
    // Nothing the platform logged in this whole file carries a configured secret.
    const everything = logLines.join('\n');
    for (const secret of SECRETS) expect(everything).not.toContain(secret);
  });
});
