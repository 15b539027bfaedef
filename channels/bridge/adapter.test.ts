import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BadRequestError, UnauthorizedError, UpstreamError } from '../../core/errors.js';
import type { RawRequest } from '../adapter.js';
import { createBridgeAdapter } from './adapter.js';

const NOW = new Date('2024-05-01T12:00:00Z');
const TOKEN = 'bridge-token-0123456789';
const deps = { fetch: globalThis.fetch, now: () => NOW };

const request = (body: unknown, authorization: string | null = `Bearer ${TOKEN}`): RawRequest => ({
  headers: authorization === null ? {} : { authorization },
  body: typeof body === 'string' ? body : JSON.stringify(body),
  receivedAt: NOW,
});

const minimal = { id: '42', room: 'ops', user: 'alice', text: '/echo hi' };

interface Received {
  headers: IncomingHttpHeaders;
  body: unknown;
}
const received: Received[] = [];
let answerStatus = 200;
let replyUrl: string;
let close: () => Promise<void>;

beforeAll(async () => {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(answerStatus).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  replyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/replies`;
  close = () => new Promise((resolve) => server.close(() => resolve()));
});
afterAll(() => close());
beforeEach(() => {
  received.length = 0;
  answerStatus = 200;
});

const adapter = () => createBridgeAdapter({ token: TOKEN, replyUrl }, deps);

describe('bridge adapter: receive', () => {
  it('parses a message with the right token into the canonical shape, a group room by default', async () => {
    expect(await adapter().receive(request({ ...minimal, user_name: 'Alice' }))).toEqual({
      kind: 'message',
      message: {
        channel: 'bridge',
        messageId: '42',
        conversationId: 'ops',
        conversationType: 'group',
        sender: { id: 'alice', name: 'Alice' },
        text: '/echo hi',
        mentions: [],
        attachments: [],
        sentAt: NOW.toISOString(),
        replyTarget: { channel: 'bridge', data: { room: 'ops', in_reply_to: '42' } },
      },
    });
  });

  it('marks a one-to-one conversation as direct', async () => {
    const outcome = await adapter().receive(request({ ...minimal, direct: true }));
    expect(outcome).toMatchObject({ kind: 'message', message: { conversationType: 'direct' } });
  });

  it('refuses a missing or wrong token before reading the body', async () => {
    await expect(adapter().receive(request('{', null))).rejects.toThrow(UnauthorizedError);
    await expect(adapter().receive(request('{', 'Bearer not-the-token'))).rejects.toThrow(UnauthorizedError);
    await expect(adapter().receive(request('{', TOKEN))).rejects.toThrow(UnauthorizedError);
  });

  it('refuses a malformed body, naming the field', async () => {
    await expect(adapter().receive(request('not json'))).rejects.toThrow(BadRequestError);
    await expect(adapter().receive(request({ ...minimal, room: '' }))).rejects.toThrow(/room/);
  });
});

describe('bridge adapter: send', () => {
  const target = { channel: 'bridge', data: { room: 'ops', in_reply_to: '42' } };

  it('posts the reply to the reply URL with the token and a stable idempotency key', async () => {
    const sent = await adapter().send(target, { text: 'hi', format: 'markdown', idempotencyKey: 'run-1:final' });
    expect(sent).toEqual({ channel: 'bridge', platformMessageId: 'run-1:final' });
    expect(received).toHaveLength(1);
    expect(received[0]!.headers['authorization']).toBe(`Bearer ${TOKEN}`);
    expect(received[0]!.headers['idempotency-key']).toBe('run-1:final');
    expect(received[0]!.body).toEqual({
      room: 'ops',
      in_reply_to: '42',
      kind: 'reply',
      text: 'hi',
      format: 'markdown',
    });
  });

  it('posts progress notices under one key per message, so each replaces the last', async () => {
    await adapter().sendProgress(target, 'Working on it…');
    await adapter().sendProgress(target, 'Still working…');
    expect(received.map((r) => r.headers['idempotency-key'])).toEqual(['42:progress', '42:progress']);
    expect(received[1]!.body).toMatchObject({ kind: 'progress', text: 'Still working…', format: 'text' });
  });

  it('calls 5xx and 429 retryable and other refusals permanent', async () => {
    answerStatus = 503;
    await expect(adapter().send(target, { text: 'x', format: 'text' })).rejects.toMatchObject({ retryable: true });
    answerStatus = 404;
    const refused = adapter().send(target, { text: 'x', format: 'text' });
    await expect(refused).rejects.toThrow(UpstreamError);
    await expect(refused).rejects.toMatchObject({ retryable: false });
  });
});
