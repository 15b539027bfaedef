import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BadRequestError, UnauthorizedError, UpstreamError } from '../../core/errors.js';
import type { ReplyTarget } from '../../core/message.js';
import type { RawRequest } from '../adapter.js';
import { createCustomAdapter } from './adapter.js';
import { signCustomPayload, verifyCustomSignature } from './signature.js';

const NOW = new Date('2024-05-01T12:00:00Z');
const T = Math.floor(NOW.getTime() / 1000);
const deps = { fetch: globalThis.fetch, now: () => NOW };
// The callback receiver below listens on loopback, which only an allow-listed host may reach; other names
// resolve to a public address without asking DNS (the test machine may have none).
const adapter = createCustomAdapter(
  {
    secrets: ['whsec_current', 'whsec_previous'],
    callbackAllowedHosts: ['127.0.0.1'],
    resolve: async () => [{ address: '93.184.216.34', family: 4 }],
  },
  deps,
);

function signedRequest(body: unknown, secret = 'whsec_current'): RawRequest {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  return { headers: { 'x-conduit-signature': signCustomPayload(secret, raw, T) }, body: raw, receivedAt: NOW };
}

const minimal = { message_id: 'm1', conversation_id: 'c1', sender: { id: 'u1' }, text: 'hello' };

describe('custom adapter: receive', () => {
  it('parses a signed message into the canonical shape, direct by default', async () => {
    const outcome = await adapter.receive(signedRequest({ ...minimal, sender: { id: 'u1', name: 'Ann' } }));
    expect(outcome).toEqual({
      kind: 'message',
      message: {
        channel: 'custom',
        messageId: 'm1',
        conversationId: 'c1',
        conversationType: 'direct',
        sender: { id: 'u1', name: 'Ann' },
        text: 'hello',
        mentions: [],
        attachments: [],
        sentAt: NOW.toISOString(),
        replyTarget: { channel: 'custom', data: { message_id: 'm1', conversation_id: 'c1' } },
      },
    });
  });

  it('keeps callback_url and a group conversation type', async () => {
    const outcome = await adapter.receive(
      signedRequest({ ...minimal, conversation_type: 'group', callback_url: 'https://example.com/hook' }),
    );
    if (outcome.kind !== 'message') throw new Error(`expected a message, got ${outcome.kind}`);
    expect(outcome.message.conversationType).toBe('group');
    expect(outcome.message.replyTarget.data).toEqual({
      message_id: 'm1',
      conversation_id: 'c1',
      callback_url: 'https://example.com/hook',
    });
  });

  it('accepts a body signed with the previous secret (rotation)', async () => {
    await expect(adapter.receive(signedRequest(minimal, 'whsec_previous'))).resolves.toMatchObject({ kind: 'message' });
  });

  it('rejects an unsigned or forged request before looking at the body', async () => {
    await expect(adapter.receive({ headers: {}, body: '{', receivedAt: NOW })).rejects.toThrow(UnauthorizedError);
    await expect(adapter.receive(signedRequest(minimal, 'guessed'))).rejects.toThrow(UnauthorizedError);
  });

  it('rejects malformed JSON with BadRequestError', async () => {
    await expect(adapter.receive(signedRequest('{"message_id":'))).rejects.toThrow(BadRequestError);
  });

  it('rejects bodies missing required fields or with a non-http callback_url', async () => {
    await expect(adapter.receive(signedRequest({ ...minimal, text: undefined }))).rejects.toThrow(/text/);
    await expect(adapter.receive(signedRequest({ ...minimal, sender: {} }))).rejects.toThrow(BadRequestError);
    await expect(adapter.receive(signedRequest({ ...minimal, callback_url: 'file:///etc/passwd' }))).rejects.toThrow(
      /callback_url/,
    );
    await expect(adapter.receive(signedRequest({ ...minimal, conversation_type: 'channel' }))).rejects.toThrow(
      BadRequestError,
    );
  });
});

/**
 * A callback receiver on loopback for the enclosing describe block: records each delivery and answers it with the
 * status `answer` gives. Deliveries are cleared before each test.
 */
function callbackReceiver(answer: () => number) {
  const deliveries: { headers: IncomingHttpHeaders; body: string }[] = [];
  let url = '';
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      deliveries.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(answer()).end();
    });
  });
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    deliveries.length = 0;
  });
  return { deliveries, url: () => url };
}

describe('custom adapter: send', () => {
  let status = 200;
  const { deliveries: calls, url: callbackUrl } = callbackReceiver(() => status);
  beforeEach(() => {
    status = 200;
  });

  const target = (): ReplyTarget => ({
    channel: 'custom',
    data: { message_id: 'm1', conversation_id: 'c1', callback_url: callbackUrl() },
  });

  it('posts the reply to callback_url signed with the first secret', async () => {
    const ref = await adapter.send(target(), { text: '**done**', format: 'markdown' });
    expect(ref).toEqual({ channel: 'custom', platformMessageId: 'm1:reply' });
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(JSON.parse(call!.body)).toEqual({
      message_id: 'm1:reply',
      conversation_id: 'c1',
      in_reply_to: 'm1',
      text: '**done**',
      format: 'markdown',
      kind: 'reply',
      idempotency_key: 'm1:reply',
    });
    expect(call!.headers['idempotency-key']).toBe('m1:reply');
    expect(call!.headers['content-type']).toMatch(/application\/json/);
    const signature = call!.headers['x-conduit-signature'] as string;
    expect(() => verifyCustomSignature(signature, call!.body, ['whsec_current'], NOW)).not.toThrow();
    expect(() => verifyCustomSignature(signature, call!.body, ['whsec_previous'], NOW)).toThrow();
  });

  it('posts progress notices with kind progress', async () => {
    await adapter.sendProgress(target(), 'searching…');
    expect(JSON.parse(calls[0]!.body)).toMatchObject({ kind: 'progress', text: 'searching…', format: 'text' });
  });

  it('without a callback_url returns a bare ref and makes no HTTP call', async () => {
    const ref = await adapter.send(
      { channel: 'custom', data: { message_id: 'm1', conversation_id: 'c1' } },
      { text: 'kept by the pipeline', format: 'text' },
    );
    expect(ref).toEqual({ channel: 'custom' });
    expect(calls).toHaveLength(0);
  });

  it.each([
    [500, true],
    [503, true],
    [429, true],
    [400, false],
    [404, false],
    [410, false],
  ])('maps a callback answering HTTP %i to UpstreamError with retryable %s', async (answer, retryable) => {
    status = answer;
    const error = await adapter.send(target(), { text: 'x', format: 'text' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).retryable).toBe(retryable);
  });

  it('maps an unreachable callback to a retryable UpstreamError', async () => {
    const unreachable = {
      channel: 'custom',
      data: { message_id: 'm1', conversation_id: 'c1', callback_url: 'http://127.0.0.1:1/x' },
    };
    const error = await adapter.send(unreachable, { text: 'x', format: 'text' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).retryable).toBe(true);
  });

  it('refuses to be built without a secret', () => {
    expect(() => createCustomAdapter({ secrets: [] }, deps)).toThrow();
  });
});

describe('custom adapter: idempotency key', () => {
  /** Each delivery is answered with the next scripted status (200 when none). */
  const answers: number[] = [];
  const { deliveries, url: callbackUrl } = callbackReceiver(() => answers.shift() ?? 200);
  beforeEach(() => {
    answers.length = 0;
  });
  const target = (messageId = 'm1'): ReplyTarget => ({
    channel: 'custom',
    data: { message_id: messageId, conversation_id: 'c1', callback_url: callbackUrl() },
  });
  const headerKey = (delivery: { headers: IncomingHttpHeaders }) => delivery.headers['idempotency-key'];
  const bodyKey = (delivery: { body: string }) =>
    (JSON.parse(delivery.body) as { idempotency_key?: unknown }).idempotency_key;
  const signatureOf = (delivery: { headers: IncomingHttpHeaders }) => delivery.headers['x-conduit-signature'] as string;

  it('a reply retried after the receiver answered 500 carries the same key, in the header and the signed body', async () => {
    answers.push(500, 200);
    const reply = { text: 'done', format: 'markdown' as const, idempotencyKey: 'message:custom:m1:final' };

    await expect(adapter.send(target(), reply)).rejects.toMatchObject({ retryable: true });
    await expect(adapter.send(target(), reply)).resolves.toEqual({ channel: 'custom', platformMessageId: 'm1:reply' });

    expect(deliveries).toHaveLength(2);
    for (const delivery of deliveries) {
      expect(headerKey(delivery)).toBe('message:custom:m1:final');
      expect(bodyKey(delivery)).toBe('message:custom:m1:final');
      expect(() => verifyCustomSignature(signatureOf(delivery), delivery.body, ['whsec_current'], NOW)).not.toThrow();
    }
    // The retry is the same body byte for byte, so a receiver may also compare bodies under one key.
    expect(deliveries[1]!.body).toBe(deliveries[0]!.body);
  });

  it('the signature covers the key: a body whose key was changed in transit no longer verifies', async () => {
    await adapter.send(target(), { text: 'done', format: 'text', idempotencyKey: 'message:custom:m1:final' });
    const [delivery] = deliveries;
    const altered = delivery!.body.replace('message:custom:m1:final', 'message:custom:m1:other');
    expect(altered).not.toBe(delivery!.body);
    expect(() => verifyCustomSignature(signatureOf(delivery!), altered, ['whsec_current'], NOW)).toThrow(
      UnauthorizedError,
    );
  });

  it('a progress notice and the final reply have different keys; a retried notice keeps its key', async () => {
    answers.push(503, 200);
    await expect(adapter.sendProgress(target(), 'Working on it…')).rejects.toMatchObject({ retryable: true });
    await adapter.sendProgress(target(), 'Working on it…');
    await adapter.sendProgress(target(), 'Working on it… (2 tool calls so far)');
    await adapter.send(target(), { text: 'done', format: 'markdown', idempotencyKey: 'message:custom:m1:final' });

    const [firstTry, retry, nextNotice, reply] = deliveries.map((delivery) => {
      expect(headerKey(delivery)).toBe(bodyKey(delivery));
      return headerKey(delivery);
    });
    expect(retry).toBe(firstTry);
    // Each notice replaces the last under one message_id, but is a delivery of its own: a receiver dropping
    // repeated keys must not drop the newer notice.
    expect(nextNotice).not.toBe(firstTry);
    expect(new Set([firstTry, nextNotice, reply]).size).toBe(3);
    expect(firstTry).toMatch(/^m1:progress:[0-9a-f]{16}$/);
  });

  it('without a key from the caller, derives a stable one from the message id and the kind', async () => {
    await adapter.send(target(), { text: 'first try', format: 'text' });
    await adapter.send(target(), { text: 'first try', format: 'text' });
    expect(deliveries.map(headerKey)).toEqual(['m1:reply', 'm1:reply']);
    expect(deliveries.map(bodyKey)).toEqual(['m1:reply', 'm1:reply']);
  });

  it('a message id a header cannot carry (emoji, spaces) still gets a delivery, under a stable ASCII key', async () => {
    const messageId = 'réunion du lundi 😀';
    const reply = { text: 'done', format: 'text' as const, idempotencyKey: `message:custom:${messageId}:final` };
    await adapter.send(target(messageId), reply);
    await adapter.send(target(messageId), reply);
    await adapter.sendProgress(target(messageId), 'Working on it…');

    expect(deliveries).toHaveLength(3);
    for (const delivery of deliveries) {
      expect(headerKey(delivery)).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(bodyKey(delivery)).toBe(headerKey(delivery));
    }
    expect(headerKey(deliveries[1]!)).toBe(headerKey(deliveries[0]!));
    expect(headerKey(deliveries[2]!)).not.toBe(headerKey(deliveries[0]!));
  });
});
