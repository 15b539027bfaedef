import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BadRequestError, UnauthorizedError, UpstreamError } from '../../core/errors.js';
import type { ReplyTarget } from '../../core/message.js';
import { type DingTalkOpenApiFake, startDingTalkOpenApi } from '../../test/fakes/dingtalk-open-api.js';
import type { ChannelAdapter } from '../adapter.js';
import { createDingTalkAdapter } from './adapter.js';
import { computeDingTalkSign } from './sign.js';

const APP_KEY = 'ding-app-key';
const APP_SECRET = 'dt-super-secret-value';
const START = Date.parse('2024-05-01T12:00:00Z');

let fake: DingTalkOpenApiFake;
let now = START;
let adapter: ChannelAdapter;

beforeAll(async () => {
  fake = await startDingTalkOpenApi({ appKey: APP_KEY, appSecret: APP_SECRET });
});
afterAll(() => fake.close());
beforeEach(() => {
  now = START;
  fake.received.length = 0;
  fake.tokenRequests.length = 0;
  // A fresh adapter per test: empty token cache and progress throttle.
  adapter = createDingTalkAdapter(
    { appKey: APP_KEY, appSecret: APP_SECRET, apiBaseUrl: fake.url },
    { fetch: globalThis.fetch, now: () => new Date(now) },
  );
});

function target(overrides: Record<string, unknown> = {}): ReplyTarget {
  return {
    channel: 'dingtalk',
    data: {
      sessionWebhook: fake.sessionWebhookUrl('s1'),
      sessionWebhookExpiredTime: START + 60_000,
      conversationType: '2',
      conversationId: 'cidGroup==',
      senderStaffId: 'staff-ann',
      robotCode: 'dingrobot',
      ...overrides,
    },
  };
}

const expired = { sessionWebhookExpiredTime: START - 1 };

async function failure(promise: Promise<unknown>): Promise<UpstreamError> {
  const error = await promise.catch((e: unknown) => e);
  if (!(error instanceof UpstreamError)) throw new Error(`expected an UpstreamError, got ${String(error)}`);
  return error;
}

describe('DingTalk adapter: replayed signatures and other robots', () => {
  const callback = (overrides: Record<string, unknown> = {}) =>
    JSON.stringify({
      msgtype: 'text',
      text: { content: 'hi' },
      msgId: 'm-replay',
      conversationType: '1',
      conversationId: 'cid1',
      senderStaffId: 'staff-ann',
      robotCode: APP_KEY,
      chatbotCorpId: 'dingcorp',
      ...overrides,
    });
  const signedAt = (at: number) => ({ timestamp: String(at), sign: computeDingTalkSign(APP_SECRET, String(at)) });

  it('accepts a (timestamp, sign) pair once: again for the same message, never for another', async () => {
    const headers = signedAt(now);
    const receive = (body: string) => adapter.receive({ headers, body, receivedAt: new Date(now) });
    await expect(receive(callback())).resolves.toMatchObject({ kind: 'message' });
    await expect(receive(callback())).resolves.toMatchObject({ kind: 'message', message: { messageId: 'm-replay' } });
    await expect(receive(callback({ msgId: 'm-forged', senderStaffId: 'boss' }))).rejects.toMatchObject({
      reason: 'replayed_signature',
    });
  });

  it('refuses a timestamp more than five minutes away by default', async () => {
    const old = now - 5 * 60_000 - 1;
    await expect(
      adapter.receive({ headers: signedAt(old), body: callback({ msgId: 'm-old' }), receivedAt: new Date(now) }),
    ).rejects.toThrow(/outside the allowed window/);
  });

  it('refuses a callback for another robot, or for another organisation when DINGTALK_CORP_ID is set', async () => {
    const receive = (target: ChannelAdapter, body: string) =>
      target.receive({ headers: signedAt(now), body, receivedAt: new Date(now) });
    await expect(receive(adapter, callback({ msgId: 'm-r1', robotCode: 'other' }))).rejects.toMatchObject({
      reason: 'wrong_robot',
    });
    await expect(receive(adapter, callback({ msgId: 'm-r2', robotCode: undefined }))).rejects.toMatchObject({
      reason: 'wrong_robot',
    });
    const withCorp = createDingTalkAdapter(
      { appKey: APP_KEY, appSecret: APP_SECRET, apiBaseUrl: fake.url, corpId: 'dingcorp' },
      { fetch: globalThis.fetch, now: () => new Date(now) },
    );
    await expect(receive(withCorp, callback({ msgId: 'm-c1', chatbotCorpId: 'dingother' }))).rejects.toMatchObject({
      reason: 'wrong_corp',
    });
    await expect(receive(withCorp, callback({ msgId: 'm-c2' }))).resolves.toMatchObject({ kind: 'message' });
  });
});

describe('DingTalk adapter: receive', () => {
  const body = JSON.stringify({
    msgtype: 'text',
    text: { content: ' hi' },
    msgId: 'm1',
    conversationType: '1',
    conversationId: 'cid1',
    senderStaffId: 'staff-ann',
    senderNick: 'Ann',
    robotCode: APP_KEY,
  });

  it('accepts a correctly signed callback, parses it and acknowledges it with a bare 200', async () => {
    const timestamp = String(now);
    const outcome = await adapter.receive({
      headers: { timestamp, sign: computeDingTalkSign(APP_SECRET, timestamp) },
      body,
      receivedAt: new Date(now),
    });
    expect(outcome).toMatchObject({
      kind: 'message',
      message: { messageId: 'm1', text: 'hi', conversationType: 'direct' },
      ack: { status: 200, body: {} },
    });
  });

  it('accepts a sessionWebhook on DingTalk or on the configured API base, and refuses one anywhere else', async () => {
    const timestamp = String(now);
    const headers = { timestamp, sign: computeDingTalkSign(APP_SECRET, timestamp) };
    const withWebhook = (sessionWebhook: string) => ({
      headers,
      body: JSON.stringify({ ...JSON.parse(body), sessionWebhook, sessionWebhookExpiredTime: now + 60_000 }),
      receivedAt: new Date(now),
    });
    for (const trusted of ['https://oapi.dingtalk.com/robot/sendBySession?session=abc', fake.sessionWebhookUrl('s1')]) {
      await expect(adapter.receive(withWebhook(trusted))).resolves.toMatchObject({ kind: 'message' });
    }
    for (const untrusted of [
      'https://attacker.example/robot/sendBySession?session=abc',
      'http://oapi.dingtalk.com/robot/sendBySession?session=abc',
      'https://oapi.dingtalk.com.attacker.example/robot',
      'not a url',
    ]) {
      await expect(adapter.receive(withWebhook(untrusted))).rejects.toThrow(BadRequestError);
    }
  });

  it('rejects a callback signed with another secret or too old', async () => {
    const timestamp = String(now);
    await expect(
      adapter.receive({
        headers: { timestamp, sign: computeDingTalkSign('nope', timestamp) },
        body,
        receivedAt: new Date(now),
      }),
    ).rejects.toThrow(UnauthorizedError);
    const old = String(now - 3_600_001);
    await expect(
      adapter.receive({
        headers: { timestamp: old, sign: computeDingTalkSign(APP_SECRET, old) },
        body,
        receivedAt: new Date(now),
      }),
    ).rejects.toThrow(UnauthorizedError);
  });
});

describe('DingTalk adapter: send', () => {
  it('replies through the session webhook while it is valid, with markdown and mentions', async () => {
    const ref = await adapter.send(target(), {
      text: '# Done\nAll good',
      format: 'markdown',
      mentionUserIds: ['staff-ann'],
    });
    expect(ref).toEqual({ channel: 'dingtalk' });
    expect(fake.tokenRequests).toHaveLength(0);
    expect(fake.received).toHaveLength(1);
    expect(fake.received[0]).toMatchObject({
      path: '/robot/sendBySession',
      query: { session: 's1' },
      body: {
        msgtype: 'markdown',
        markdown: { title: 'Done', text: '@staff-ann # Done\nAll good' },
        at: { atUserIds: ['staff-ann'] },
      },
    });
  });

  it('maps a rate-limit errcode to a retryable error and other errcodes to permanent ones', async () => {
    fake.failNext({ errcode: 130101, errmsg: 'send too fast' });
    const limited = await failure(adapter.send(target(), { text: 'x', format: 'text' }));
    expect(limited.retryable).toBe(true);
    expect(limited.message).toContain('130101');

    fake.failNext({ errcode: 310000, errmsg: 'keywords not in content' });
    const refused = await failure(adapter.send(target(), { text: 'x', format: 'text' }));
    expect(refused.retryable).toBe(false);
    expect(refused.message).not.toContain('session=');
  });

  it('maps a session webhook answering HTTP 502 to a retryable error', async () => {
    fake.failNext({ status: 502 });
    expect((await failure(adapter.send(target(), { text: 'x', format: 'text' }))).retryable).toBe(true);
  });

  it('after the session webhook expires, messages a single chat through oToMessages/batchSend', async () => {
    const ref = await adapter.send(target({ ...expired, conversationType: '1' }), { text: 'hello', format: 'text' });
    expect(ref.platformMessageId).toMatch(/^pqk-/);
    expect(fake.tokenRequests).toHaveLength(1);
    expect(fake.tokenRequests[0]!.body).toEqual({ appKey: APP_KEY, appSecret: APP_SECRET });
    expect(fake.received).toHaveLength(1);
    const call = fake.received[0]!;
    expect(call.path).toBe('/v1.0/robot/oToMessages/batchSend');
    expect(call.headers['x-acs-dingtalk-access-token']).toMatch(/^dt-fake-/);
    expect(call.body).toEqual({
      robotCode: 'dingrobot',
      userIds: ['staff-ann'],
      msgKey: 'sampleText',
      msgParam: '{"content":"hello"}',
    });
  });

  it('after the session webhook expires, messages a group through groupMessages/send', async () => {
    await adapter.send(target(expired), { text: '**hi**', format: 'markdown' });
    expect(fake.received[0]).toMatchObject({
      path: '/v1.0/robot/groupMessages/send',
      body: { robotCode: 'dingrobot', openConversationId: 'cidGroup==', msgKey: 'sampleMarkdown' },
    });
  });

  it('uses the app key as robot code when the callback carried none', async () => {
    await adapter.send(target({ ...expired, robotCode: undefined }), { text: 'x', format: 'text' });
    expect(fake.received[0]!.body).toMatchObject({ robotCode: APP_KEY });
  });

  it('fetches the access token once for two sends', async () => {
    await adapter.send(target(expired), { text: 'one', format: 'text' });
    await adapter.send(target(expired), { text: 'two', format: 'text' });
    expect(fake.received).toHaveLength(2);
    expect(fake.tokenRequests).toHaveLength(1);
  });

  it('shares one token request between concurrent sends', async () => {
    await Promise.all([1, 2, 3].map((n) => adapter.send(target(expired), { text: `n${n}`, format: 'text' })));
    expect(fake.tokenRequests).toHaveLength(1);
  });

  it('refreshes a rejected token once and retries the send', async () => {
    await adapter.send(target(expired), { text: 'one', format: 'text' });
    fake.expireTokens();
    await adapter.send(target(expired), { text: 'two', format: 'text' });
    expect(fake.tokenRequests).toHaveLength(2);
    expect(fake.received.map((call) => call.body)).toMatchObject([
      { msgParam: '{"content":"one"}' },
      { msgParam: '{"content":"two"}' },
      { msgParam: '{"content":"two"}' },
    ]);
  });

  it('refreshes the token five minutes before it expires', async () => {
    await adapter.send(target({ sessionWebhookExpiredTime: 0 }), { text: 'one', format: 'text' });
    now = START + (7200 - 299) * 1000;
    await adapter.send(target({ sessionWebhookExpiredTime: 0 }), { text: 'two', format: 'text' });
    expect(fake.tokenRequests).toHaveLength(2);
  });

  it('maps OpenAPI throttling and server errors to retryable errors, other refusals to permanent ones', async () => {
    fake.failNext({ status: 429, code: 'Forbidden.AccessDenied.QpsLimitForApi' });
    expect((await failure(adapter.send(target(expired), { text: 'x', format: 'text' }))).retryable).toBe(true);
    fake.failNext({ status: 500, code: 'InternalError' });
    expect((await failure(adapter.send(target(expired), { text: 'x', format: 'text' }))).retryable).toBe(true);
    fake.failNext({ status: 400, code: 'param.invalid', message: 'robotCode invalid' });
    const refused = await failure(adapter.send(target(expired), { text: 'x', format: 'text' }));
    expect(refused.retryable).toBe(false);
    expect(refused.message).toContain('param.invalid');
  });

  it('a wrong app secret fails permanently without revealing the secret', async () => {
    const wrong = createDingTalkAdapter(
      { appKey: APP_KEY, appSecret: 'not-the-secret', apiBaseUrl: fake.url },
      { fetch: globalThis.fetch, now: () => new Date(now) },
    );
    const error = await failure(wrong.send(target(expired), { text: 'x', format: 'text' }));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('invalidClientIdOrSecret');
    expect(error.message).not.toContain('not-the-secret');
    expect(fake.received).toHaveLength(0);
  });

  it('cannot reach a single chat without a staff id once the session webhook expired', async () => {
    const error = await failure(
      adapter.send(target({ ...expired, conversationType: '1', senderStaffId: undefined }), {
        text: 'x',
        format: 'text',
      }),
    );
    expect(error.retryable).toBe(false);
  });
});

describe('DingTalk adapter: progress', () => {
  it('sends a text notice, then coalesces notices within ten seconds per conversation', async () => {
    const first = await adapter.sendProgress(target(), 'working on it');
    const second = await adapter.sendProgress(target(), 'still working', first);
    expect(second).toBe(first);
    expect(fake.received).toHaveLength(1);
    expect(fake.received[0]!.body).toEqual({ msgtype: 'text', text: { content: 'working on it' } });

    await adapter.sendProgress(target({ conversationId: 'other' }), 'elsewhere');
    expect(fake.received).toHaveLength(2);

    now = START + 10_000;
    await adapter.sendProgress(target(), 'almost done', second);
    expect(fake.received).toHaveLength(3);
  });
});
