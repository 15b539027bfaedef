import { describe, expect, it } from 'vitest';
import { BadRequestError, NotFoundError, UnauthorizedError } from '../../core/errors.js';
import type { InboundMessage } from '../../core/message.js';
import { encryptFeishuEvent } from '../../test/fakes/feishu-open-api.js';
import type { RawRequest } from '../adapter.js';
import { RefusedDelivery } from '../refusal.js';
import { createFeishuAdapter, type FeishuSettings } from './adapter.js';
import { FEISHU_REFUSAL_MESSAGE } from './envelope.js';
import { computeFeishuSignature } from './signature.js';

const NOW = new Date('2024-05-01T12:00:00Z');
const NOW_S = String(Math.floor(NOW.getTime() / 1000));
const APP_ID = 'cli_app';
const TOKEN = 'verification-token';
const KEY = 'encrypt-key';
const base = { appId: APP_ID, appSecret: 'secret', baseUrl: 'http://127.0.0.1:1' };

function adapterWith(settings: Partial<FeishuSettings>) {
  return createFeishuAdapter({ ...base, ...settings }, { fetch: globalThis.fetch, now: () => NOW });
}
const plainAdapter = adapterWith({ verificationToken: TOKEN });
const encryptedAdapter = adapterWith({ verificationToken: TOKEN, encryptKey: KEY });

function plain(payload: unknown): RawRequest {
  return { headers: {}, body: JSON.stringify(payload), receivedAt: NOW };
}

/** Encrypted and signed the way Feishu does it when an encrypt key is configured. */
function sealed(payload: unknown, options: { sign?: boolean; timestamp?: string; key?: string } = {}): RawRequest {
  const body = JSON.stringify({ encrypt: encryptFeishuEvent(JSON.stringify(payload), options.key ?? KEY) });
  if (options.sign === false) return { headers: {}, body, receivedAt: NOW };
  const timestamp = options.timestamp ?? NOW_S;
  return {
    headers: {
      'x-lark-request-timestamp': timestamp,
      'x-lark-request-nonce': 'n0nce',
      'x-lark-signature': computeFeishuSignature(timestamp, 'n0nce', options.key ?? KEY, body),
    },
    body,
    receivedAt: NOW,
  };
}

function messageEvent(message: Record<string, unknown>, sender: Record<string, unknown> = {}) {
  return {
    schema: '2.0',
    header: {
      event_id: 'ev1',
      event_type: 'im.message.receive_v1',
      create_time: '1714564800000',
      token: TOKEN,
      app_id: APP_ID,
      tenant_key: 'tenant',
    },
    event: {
      sender: { sender_id: { open_id: 'ou_ann', user_id: 'ann', union_id: 'on_ann' }, sender_type: 'user', ...sender },
      message: {
        message_id: 'om_1',
        chat_id: 'oc_chat',
        chat_type: 'group',
        message_type: 'text',
        create_time: '1714564800000',
        content: JSON.stringify({ text: 'hello' }),
        ...message,
      },
    },
  };
}

async function receiveMessage(request: RawRequest, adapter = plainAdapter): Promise<InboundMessage> {
  const outcome = await adapter.receive(request);
  if (outcome.kind !== 'message') throw new Error(`expected a message, got ${JSON.stringify(outcome)}`);
  return outcome.message;
}

const botMention = {
  key: '@_user_1',
  id: { open_id: 'ou_bot' },
  name: 'Conduit',
  mentioned_type: 'bot',
  bot_info: { app_id: APP_ID },
};
const bobMention = { key: '@_user_2', id: { open_id: 'ou_bob', user_id: 'bob' }, name: 'Bob', mentioned_type: 'user' };

describe('Feishu url_verification', () => {
  const challenge = { challenge: 'ajls384kdjx98XX', token: TOKEN, type: 'url_verification' };

  it('answers the challenge when the token matches', async () => {
    await expect(plainAdapter.receive(plain(challenge))).resolves.toEqual({
      kind: 'respond',
      status: 200,
      body: { challenge: 'ajls384kdjx98XX' },
    });
  });

  it('rejects a challenge with the wrong token', async () => {
    await expect(plainAdapter.receive(plain({ ...challenge, token: 'guess' }))).rejects.toThrow(UnauthorizedError);
  });

  it('answers an encrypted challenge that arrives without signature headers', async () => {
    await expect(encryptedAdapter.receive(sealed(challenge, { sign: false }))).resolves.toMatchObject({
      kind: 'respond',
      body: { challenge: 'ajls384kdjx98XX' },
    });
  });

  it('still requires the token on an unsigned encrypted challenge', async () => {
    await expect(encryptedAdapter.receive(sealed({ ...challenge, token: 'guess' }, { sign: false }))).rejects.toThrow(
      UnauthorizedError,
    );
  });

  it('with only an encrypt key, accepts an encrypted challenge and refuses a plain one', async () => {
    const keyOnly = adapterWith({ encryptKey: KEY });
    await expect(keyOnly.receive(sealed(challenge, { sign: false }))).resolves.toMatchObject({ kind: 'respond' });
    await expect(keyOnly.receive(plain(challenge))).rejects.toThrow(UnauthorizedError);
  });
});

describe('Feishu event authentication', () => {
  it('accepts an encrypted, signed event', async () => {
    const message = await receiveMessage(sealed(messageEvent({})), encryptedAdapter);
    expect(message.messageId).toBe('om_1');
  });

  it('acknowledges a message event with HTTP 200, since Feishu redelivers on any other status', async () => {
    await expect(encryptedAdapter.receive(sealed(messageEvent({})))).resolves.toMatchObject({
      kind: 'message',
      ack: { status: 200 },
    });
  });

  it('rejects a plain event when an encrypt key is configured', async () => {
    await expect(encryptedAdapter.receive(plain(messageEvent({})))).rejects.toThrow(UnauthorizedError);
  });

  it('rejects an encrypted event without signature headers', async () => {
    await expect(encryptedAdapter.receive(sealed(messageEvent({}), { sign: false }))).rejects.toMatchObject({
      message: FEISHU_REFUSAL_MESSAGE,
      reason: 'unsigned',
    });
  });

  it('rejects a signature older than five minutes', async () => {
    const stale = String(Number(NOW_S) - 301);
    await expect(encryptedAdapter.receive(sealed(messageEvent({}), { timestamp: stale }))).rejects.toMatchObject({
      message: FEISHU_REFUSAL_MESSAGE,
      reason: 'stale_timestamp',
    });
  });

  it('rejects a forged signature', async () => {
    const request = sealed(messageEvent({}));
    request.headers['x-lark-signature'] = '0'.repeat(64);
    await expect(encryptedAdapter.receive(request)).rejects.toMatchObject({
      message: FEISHU_REFUSAL_MESSAGE,
      reason: 'signature_mismatch',
    });
  });

  it('rejects an event whose header token does not match', async () => {
    const event = messageEvent({});
    event.header.token = 'guess';
    await expect(plainAdapter.receive(plain(event))).rejects.toThrow(UnauthorizedError);
    await expect(encryptedAdapter.receive(sealed(event))).rejects.toThrow(UnauthorizedError);
  });

  it('rejects malformed JSON with BadRequestError', async () => {
    await expect(plainAdapter.receive({ headers: {}, body: '{"schema":', receivedAt: NOW })).rejects.toThrow(
      BadRequestError,
    );
    await expect(plainAdapter.receive({ headers: {}, body: '[1]', receivedAt: NOW })).rejects.toThrow(BadRequestError);
  });

  it('rejects an encrypted body when no encrypt key is configured', async () => {
    await expect(plainAdapter.receive(sealed(messageEvent({})))).rejects.toThrow(BadRequestError);
  });

  it('without a verification token or an encrypt key (long connection only), refuses every webhook as not found', async () => {
    const sendOnly = adapterWith({});
    const challenge = plain({ challenge: 'c', token: '', type: 'url_verification' });
    await expect(sendOnly.receive(challenge)).rejects.toThrow(NotFoundError);
    await expect(sendOnly.receive(plain(messageEvent({})))).rejects.toThrow(NotFoundError);
    await expect(sendOnly.receive(sealed(messageEvent({})))).rejects.toThrow(NotFoundError);
  });
});

describe('Feishu refusals before a verified signature', () => {
  /** A base64 body of `blocks` 16-byte blocks after the IV, with bytes that almost surely do not unpad. */
  const forged = (blocks: number) => Buffer.alloc(16 * (blocks + 1), 7).toString('base64');
  const refusal = async (request: RawRequest) => {
    const error = await encryptedAdapter.receive(request).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RefusedDelivery);
    return (error as RefusedDelivery).message;
  };

  it('are one error with one message, whatever failed: padding, JSON, type, token, signature or headers', async () => {
    const goodPaddingNotJson = JSON.stringify({ encrypt: encryptFeishuEvent('not json', KEY) });
    const signedWrong = sealed(messageEvent({}));
    signedWrong.headers['x-lark-signature'] = 'f'.repeat(64);
    const messages = await Promise.all([
      refusal({ headers: {}, body: JSON.stringify({ encrypt: forged(3) }), receivedAt: NOW }),
      refusal({ headers: {}, body: goodPaddingNotJson, receivedAt: NOW }),
      refusal(sealed(messageEvent({}), { sign: false })),
      refusal(sealed({ challenge: 'c', token: 'guess', type: 'url_verification' }, { sign: false })),
      refusal(sealed({ challenge: 'not "safe"', token: TOKEN, type: 'url_verification' }, { sign: false })),
      refusal(plain({ challenge: 'c', token: TOKEN, type: 'url_verification' })),
      refusal({ headers: {}, body: '{"encrypt":', receivedAt: NOW }),
      refusal(signedWrong),
      refusal({ ...signedWrong, headers: { 'x-lark-signature': 'f'.repeat(64) } }),
    ]);
    expect(new Set(messages)).toEqual(new Set([FEISHU_REFUSAL_MESSAGE]));
  });

  it('never decrypt a body whose signature does not match', async () => {
    const request = sealed(messageEvent({}));
    request.headers['x-lark-signature'] = '0'.repeat(64);
    // The same refusal whether the forged ciphertext would unpad or not: decryption never ran.
    const badPadding = { ...request, body: JSON.stringify({ encrypt: forged(3) }) };
    await expect(encryptedAdapter.receive(badPadding)).rejects.toMatchObject({ reason: 'signature_mismatch' });
    await expect(encryptedAdapter.receive(request)).rejects.toMatchObject({ reason: 'signature_mismatch' });
  });
});

describe('Feishu events that start no run', () => {
  it('ignores event types other than im.message.receive_v1', async () => {
    const event = messageEvent({});
    event.header.event_type = 'im.chat.member.bot.added_v1';
    await expect(plainAdapter.receive(plain(event))).resolves.toEqual({
      kind: 'ignore',
      reason: 'unhandled_event_type',
      detail: 'Feishu event type im.chat.member.bot.added_v1 is not handled',
    });
  });

  it('ignores schema 1.0 events with a reason', async () => {
    const outcome = await plainAdapter.receive(
      plain({ uuid: 'u1', token: TOKEN, ts: '1', type: 'event_callback', event: { type: 'message' } }),
    );
    expect(outcome).toMatchObject({
      kind: 'ignore',
      reason: 'unsupported_schema',
      detail: expect.stringMatching(/schema 1\.0/),
    });
  });

  it('ignores messages sent by an app (including the bot itself)', async () => {
    await expect(plainAdapter.receive(plain(messageEvent({}, { sender_type: 'app' })))).resolves.toMatchObject({
      kind: 'ignore',
      reason: 'sent_by_app',
    });
  });

  it('ignores message types it does not handle', async () => {
    const sticker = messageEvent({ message_type: 'sticker', content: '{"file_key":"s1"}' });
    await expect(plainAdapter.receive(plain(sticker))).resolves.toMatchObject({
      kind: 'ignore',
      reason: 'unhandled_message_type',
    });
  });
});

describe('Feishu message parsing', () => {
  it('parses a group text message that @mentions the bot into the canonical shape', async () => {
    const event = messageEvent({ content: JSON.stringify({ text: '@_user_1 hello' }), mentions: [botMention] });
    expect(await receiveMessage(plain(event))).toEqual({
      channel: 'feishu',
      messageId: 'om_1',
      conversationId: 'oc_chat',
      conversationType: 'group',
      sender: { id: 'ou_ann' },
      text: 'hello',
      mentions: [],
      attachments: [],
      sentAt: '2024-05-01T12:00:00.000Z',
      replyTarget: { channel: 'feishu', data: { message_id: 'om_1', chat_id: 'oc_chat', chat_type: 'group' } },
    });
  });

  it('replaces other mentions with @name and lists them', async () => {
    const event = messageEvent({
      content: JSON.stringify({ text: '@_user_1 ask @_user_2 about it' }),
      mentions: [botMention, bobMention],
    });
    const message = await receiveMessage(plain(event));
    expect(message.text).toBe('ask @Bob about it');
    expect(message.mentions).toEqual([{ id: 'ou_bob', name: 'Bob' }]);
  });

  it('does not confuse @_user_1 with @_user_10', async () => {
    const many = Array.from({ length: 10 }, (_, i) => ({
      key: `@_user_${i + 1}`,
      id: { open_id: `ou_${i + 1}` },
      name: `P${i + 1}`,
      mentioned_type: 'user',
    }));
    const event = messageEvent({ content: JSON.stringify({ text: 'hi @_user_10 and @_user_1' }), mentions: many });
    expect((await receiveMessage(plain(event))).text).toBe('hi @P10 and @P1');
  });

  it('without mentioned_type, takes the leading group mention as the bot', async () => {
    const legacy = [
      { key: '@_user_1', id: { open_id: 'ou_bot' }, name: 'Conduit' },
      { key: '@_user_2', id: { open_id: 'ou_bob' }, name: 'Bob' },
    ];
    const event = messageEvent({ content: JSON.stringify({ text: '@_user_1 ping @_user_2' }), mentions: legacy });
    const message = await receiveMessage(plain(event));
    expect(message.text).toBe('ping @Bob');
    expect(message.mentions).toEqual([{ id: 'ou_bob', name: 'Bob' }]);
  });

  it('maps p2p chats to direct conversations', async () => {
    expect((await receiveMessage(plain(messageEvent({ chat_type: 'p2p' })))).conversationType).toBe('direct');
  });

  it('parses post content given directly, with text, links and mentions', async () => {
    const post = {
      title: 'Plan',
      content: [
        [
          { tag: 'at', user_id: '@_user_1', user_name: 'Conduit' },
          { tag: 'text', text: ' draft a plan with ' },
          { tag: 'at', user_id: '@_user_2', user_name: 'Bob' },
        ],
        [
          { tag: 'a', text: 'the doc', href: 'https://example.com' },
          { tag: 'img', image_key: 'img_1' },
        ],
      ],
    };
    const event = messageEvent({
      message_type: 'post',
      content: JSON.stringify(post),
      mentions: [botMention, bobMention],
    });
    const message = await receiveMessage(plain(event));
    expect(message.text).toBe('Plan\ndraft a plan with @Bob\nthe doc');
    expect(message.attachments).toEqual([{ kind: 'image', platformRef: 'img_1' }]);
  });

  it('parses post content wrapped in a locale', async () => {
    const post = { zh_cn: { title: '', content: [[{ tag: 'text', text: '你好' }]] } };
    const event = messageEvent({ message_type: 'post', content: JSON.stringify(post) });
    expect((await receiveMessage(plain(event))).text).toBe('你好');
  });

  it('turns image and file messages into attachments', async () => {
    const image = await receiveMessage(
      plain(messageEvent({ message_type: 'image', content: '{"image_key":"img_v2"}' })),
    );
    expect(image.attachments).toEqual([{ kind: 'image', platformRef: 'img_v2' }]);
    const file = await receiveMessage(
      plain(messageEvent({ message_type: 'file', content: '{"file_key":"file_v2","file_name":"a.pdf"}' })),
    );
    expect(file.attachments).toEqual([{ kind: 'file', platformRef: 'file_v2', name: 'a.pdf' }]);
  });

  it('rejects message content that is not JSON', async () => {
    await expect(plainAdapter.receive(plain(messageEvent({ content: 'hello' })))).rejects.toThrow(BadRequestError);
  });

  it('a redelivered event yields the same message id (the de-duplication key), whatever its event id', async () => {
    const first = await receiveMessage(plain(messageEvent({})));
    const redelivered = messageEvent({});
    redelivered.header.event_id = 'ev1-retry';
    expect((await receiveMessage(plain(redelivered))).messageId).toBe(first.messageId);
  });
});
