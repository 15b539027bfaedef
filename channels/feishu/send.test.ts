import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UpstreamError } from '../../core/errors.js';
import type { ReplyTarget } from '../../core/message.js';
import { type FeishuOpenApiFake, startFeishuOpenApi } from '../../test/fakes/feishu-open-api.js';
import type { ChannelAdapter } from '../adapter.js';
import { createFeishuAdapter } from './adapter.js';

const APP_ID = 'cli_app';
const APP_SECRET = 'feishu-very-secret';
const START = Date.parse('2024-05-01T12:00:00Z');
const target: ReplyTarget = {
  channel: 'feishu',
  data: { message_id: 'om_in', chat_id: 'oc_chat', chat_type: 'group' },
};

let fake: FeishuOpenApiFake;
let now = START;
let adapter: ChannelAdapter;

function build(appSecret = APP_SECRET): ChannelAdapter {
  return createFeishuAdapter(
    { appId: APP_ID, appSecret, baseUrl: `${fake.url}/`, verificationToken: 'vt' },
    { fetch: globalThis.fetch, now: () => new Date(now) },
  );
}

beforeAll(async () => {
  fake = await startFeishuOpenApi({ appId: APP_ID, appSecret: APP_SECRET });
});
afterAll(() => fake.close());
beforeEach(() => {
  now = START;
  fake.received.length = 0;
  fake.tokenRequests.length = 0;
  adapter = build();
});

async function failure(promise: Promise<unknown>): Promise<UpstreamError> {
  const error = await promise.catch((e: unknown) => e);
  if (!(error instanceof UpstreamError)) throw new Error(`expected an UpstreamError, got ${String(error)}`);
  return error;
}

function bearer(index: number): string | undefined {
  return fake.received[index]?.headers.authorization;
}

describe('Feishu adapter: send', () => {
  it('replies to the message with a text message and the tenant token', async () => {
    const ref = await adapter.send(target, { text: 'hello "there"', format: 'text' });
    expect(ref).toEqual({ channel: 'feishu', platformMessageId: expect.stringMatching(/^om_fake_/) });
    expect(fake.tokenRequests[0]!.body).toEqual({ app_id: APP_ID, app_secret: APP_SECRET });
    const call = fake.received[0]!;
    expect(call.method).toBe('POST');
    expect(call.path).toBe('/open-apis/im/v1/messages/om_in/reply');
    expect(call.headers.authorization).toMatch(/^Bearer t-fake-/);
    expect(call.body).toMatchObject({ msg_type: 'text', content: '{"text":"hello \\"there\\""}' });
  });

  it('sends markdown as a post with an md element and mentions as at tags', async () => {
    await adapter.send(target, { text: '**bold**', format: 'markdown', mentionUserIds: ['ou_bob'] });
    const body = fake.received[0]!.body as { msg_type: string; content: string };
    expect(body.msg_type).toBe('post');
    expect(JSON.parse(body.content)).toEqual({
      zh_cn: { content: [[{ tag: 'md', text: '<at user_id="ou_bob"></at> **bold**' }]] },
    });
  });

  it('gives a retried reply the same uuid so Feishu posts it once', async () => {
    await adapter.send(target, { text: 'same', format: 'text' });
    await adapter.send(target, { text: 'same', format: 'text' });
    await adapter.send(target, { text: 'different', format: 'text' });
    const uuids = fake.received.map((call) => (call.body as { uuid: string }).uuid);
    expect(uuids[0]).toBe(uuids[1]);
    expect(uuids[2]).not.toBe(uuids[0]);
    expect(uuids[0]!.length).toBeLessThanOrEqual(50);
  });

  it('fetches the tenant token once for two sends', async () => {
    await adapter.send(target, { text: 'one', format: 'text' });
    await adapter.send(target, { text: 'two', format: 'text' });
    expect(fake.received).toHaveLength(2);
    expect(fake.tokenRequests).toHaveLength(1);
  });

  it('shares one token request between concurrent sends', async () => {
    await Promise.all(['a', 'b', 'c'].map((text) => adapter.send(target, { text, format: 'text' })));
    expect(fake.tokenRequests).toHaveLength(1);
  });

  it('refreshes the token five minutes before it expires', async () => {
    await adapter.send(target, { text: 'one', format: 'text' });
    now = START + (7200 - 301) * 1000;
    await adapter.send(target, { text: 'two', format: 'text' });
    expect(fake.tokenRequests).toHaveLength(1);
    now = START + (7200 - 299) * 1000;
    await adapter.send(target, { text: 'three', format: 'text' });
    expect(fake.tokenRequests).toHaveLength(2);
  });

  it('on an invalid token (99991663) refreshes once and retries', async () => {
    await adapter.send(target, { text: 'one', format: 'text' });
    fake.expireTokens();
    await adapter.send(target, { text: 'two', format: 'text' });
    expect(fake.tokenRequests).toHaveLength(2);
    expect(fake.received).toHaveLength(3);
    expect(bearer(1)).toBe(bearer(0));
    expect(bearer(2)).not.toBe(bearer(1));
  });

  it('gives up after one refresh when the new token is refused too', async () => {
    fake.failNext({ code: 99991668, msg: 'token expired' });
    fake.failNext({ code: 99991668, msg: 'token expired' });
    const error = await failure(adapter.send(target, { text: 'x', format: 'text' }));
    expect(error.retryable).toBe(false);
    expect(fake.received).toHaveLength(2);
  });

  it('maps rate limiting (99991400 or HTTP 429) and server errors to retryable errors', async () => {
    fake.failNext({ code: 99991400, msg: 'request trigger frequency limit' });
    expect((await failure(adapter.send(target, { text: 'x', format: 'text' }))).retryable).toBe(true);
    fake.failNext({ status: 429, code: 99991400, msg: 'too many requests' });
    expect((await failure(adapter.send(target, { text: 'x', format: 'text' }))).retryable).toBe(true);
    fake.failNext({ status: 503, code: 1, msg: 'unavailable' });
    expect((await failure(adapter.send(target, { text: 'x', format: 'text' }))).retryable).toBe(true);
  });

  it('maps other codes to a permanent error naming code and msg but never the token', async () => {
    fake.failNext({ code: 230002, msg: 'Bot/User can NOT be out of the chat.' });
    const error = await failure(adapter.send(target, { text: 'x', format: 'text' }));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('230002');
    expect(error.message).toContain('Bot/User can NOT be out of the chat.');
    expect(error.message).not.toMatch(/t-fake-/);
  });

  it('a wrong app secret fails permanently with code 10014 and without the secret', async () => {
    const error = await failure(build('not-the-secret').send(target, { text: 'x', format: 'text' }));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('10014');
    expect(error.message).not.toContain('not-the-secret');
    expect(fake.received).toHaveLength(0);
  });

  it('maps an unreachable Feishu to a retryable error', async () => {
    const offline = createFeishuAdapter(
      { appId: APP_ID, appSecret: APP_SECRET, baseUrl: 'http://127.0.0.1:1', verificationToken: 'vt' },
      { fetch: globalThis.fetch, now: () => new Date(now) },
    );
    expect((await failure(offline.send(target, { text: 'x', format: 'text' }))).retryable).toBe(true);
  });
});

describe('Feishu adapter: progress', () => {
  it('replies with an interactive card first, then updates that card in place', async () => {
    const first = await adapter.sendProgress(target, 'Searching…');
    expect(first).toEqual({ channel: 'feishu', platformMessageId: expect.stringMatching(/^om_fake_/) });
    const created = fake.received[0]!;
    expect(created.path).toBe('/open-apis/im/v1/messages/om_in/reply');
    const createdBody = created.body as { msg_type: string; content: string };
    expect(createdBody.msg_type).toBe('interactive');
    expect(JSON.parse(createdBody.content)).toMatchObject({
      config: { update_multi: true },
      elements: [{ tag: 'markdown', content: 'Searching…' }],
    });

    const second = await adapter.sendProgress(target, 'Reading 3 pages…', first);
    expect(second).toEqual(first);
    const patched = fake.received[1]!;
    expect(patched.method).toBe('PATCH');
    expect(patched.path).toBe(`/open-apis/im/v1/messages/${first.platformMessageId}`);
    expect(JSON.parse((patched.body as { content: string }).content)).toMatchObject({
      elements: [{ tag: 'markdown', content: 'Reading 3 pages…' }],
    });
  });
});
