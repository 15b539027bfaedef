// Hostile text and ids on every channel, on the real platform: NUL bytes, unpaired surrogates, control
// characters, 100,000-character ids and `%00` in URLs. Ids are refused at the door with a 400 and a clear
// message; text is stored with NUL and unpaired surrogates replaced by U+FFFD and answered; nothing gives a 500.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signCustomPayload } from '../channels/custom/signature.js';
import { computeDingTalkSign } from '../channels/dingtalk/sign.js';
import { computeFeishuSignature } from '../channels/feishu/signature.js';
import { messageWorkflowId, type RunStatus } from '../runs/contract.js';
import { type DingTalkOpenApiFake, startDingTalkOpenApi } from './fakes/dingtalk-open-api.js';
import { encryptFeishuEvent, type FeishuOpenApiFake, startFeishuOpenApi } from './fakes/feishu-open-api.js';
import { startTestPlatform, type TestPlatform } from './support/platform.js';

const CUSTOM_SECRET = `whsec_hostile_input_${randomBytes(12).toString('hex')}`;
const DINGTALK = { appKey: 'ding-hi-app-key', appSecret: `dt-hi-secret-${randomBytes(12).toString('hex')}` };
const FEISHU = {
  appId: 'cli_hi_app',
  appSecret: `fs-hi-secret-${randomBytes(12).toString('hex')}`,
  verificationToken: `fs-hi-token-${randomBytes(8).toString('hex')}`,
  encryptKey: `fs-hi-key-${randomBytes(8).toString('hex')}`,
};

let platform: TestPlatform;
let dingtalk: DingTalkOpenApiFake;
let feishu: FeishuOpenApiFake;
let callbackUrl: string;
let closeCallbacks: () => Promise<void>;

beforeAll(async () => {
  dingtalk = await startDingTalkOpenApi(DINGTALK);
  feishu = await startFeishuOpenApi({ appId: FEISHU.appId, appSecret: FEISHU.appSecret });
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  callbackUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/replies`;
  closeCallbacks = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  platform = await startTestPlatform({
    CUSTOM_WEBHOOK_SECRET: CUSTOM_SECRET,
    CUSTOM_CALLBACK_ALLOWED_HOSTS: '127.0.0.1',
    DINGTALK_APP_KEY: DINGTALK.appKey,
    DINGTALK_APP_SECRET: DINGTALK.appSecret,
    DINGTALK_API_BASE_URL: dingtalk.url,
    FEISHU_APP_ID: FEISHU.appId,
    FEISHU_APP_SECRET: FEISHU.appSecret,
    FEISHU_VERIFICATION_TOKEN: FEISHU.verificationToken,
    FEISHU_ENCRYPT_KEY: FEISHU.encryptKey,
    FEISHU_BASE_URL: feishu.url,
    PIPELINE_PROGRESS_DELAY_MS: '600000',
  });
});
afterAll(async () => {
  await platform?.stop();
  await Promise.all([dingtalk?.close(), feishu?.close(), closeCallbacks?.()]);
});

const unique = (prefix: string) => `${prefix}${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;

/** One delivery per channel, built around the fields a case overrides. */
interface Fields {
  messageId: string;
  conversationId: string;
  senderId: string;
  text: string;
}

const fresh = (): Fields => ({
  messageId: unique('m'),
  conversationId: unique('c'),
  senderId: unique('u'),
  text: '/echo hello',
});

const CHANNELS: Record<string, (fields: Fields) => Promise<Response>> = {
  api: (f) =>
    platform.api('/v1/messages', {
      method: 'POST',
      body: JSON.stringify({
        message_id: f.messageId,
        conversation_id: f.conversationId,
        sender: { id: f.senderId },
        text: f.text,
      }),
    }),
  custom: (f) => {
    const raw = JSON.stringify({
      message_id: f.messageId,
      conversation_id: f.conversationId,
      sender: { id: f.senderId, name: 'Ann' },
      text: f.text,
      callback_url: callbackUrl,
    });
    return fetch(`${platform.apiUrl}/webhooks/custom`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-conduit-signature': signCustomPayload(CUSTOM_SECRET, raw, Math.floor(Date.now() / 1000)),
      },
      body: raw,
    });
  },
  dingtalk: (f) => {
    const timestamp = String(Date.now());
    return fetch(`${platform.apiUrl}/webhooks/dingtalk`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        timestamp,
        sign: computeDingTalkSign(DINGTALK.appSecret, timestamp),
      },
      body: JSON.stringify({
        msgId: f.messageId,
        msgtype: 'text',
        text: { content: ` ${f.text}` },
        conversationId: f.conversationId,
        conversationType: '1',
        senderStaffId: f.senderId,
        senderId: `$:LWCP_v1:$${randomBytes(8).toString('hex')}`,
        senderNick: 'Ann',
        chatbotCorpId: 'dingcorp',
        robotCode: DINGTALK.appKey,
        sessionWebhook: dingtalk.sessionWebhookUrl(unique('s')),
        sessionWebhookExpiredTime: Date.now() + 90 * 60_000,
        createAt: Date.now(),
      }),
    });
  },
  feishu: (f) => {
    const event = {
      schema: '2.0',
      header: {
        event_id: randomBytes(16).toString('hex'),
        event_type: 'im.message.receive_v1',
        create_time: String(Date.now()),
        token: FEISHU.verificationToken,
        app_id: FEISHU.appId,
        tenant_key: 'tenant',
      },
      event: {
        sender: { sender_id: { open_id: f.senderId, user_id: f.senderId }, sender_type: 'user', tenant_key: 'tenant' },
        message: {
          message_id: f.messageId,
          create_time: String(Date.now()),
          chat_id: f.conversationId,
          chat_type: 'p2p',
          message_type: 'text',
          content: JSON.stringify({ text: f.text }),
        },
      },
    };
    const body = JSON.stringify({ encrypt: encryptFeishuEvent(JSON.stringify(event), FEISHU.encryptKey) });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = randomBytes(8).toString('hex');
    return fetch(`${platform.apiUrl}/webhooks/feishu`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'x-lark-request-timestamp': timestamp,
        'x-lark-request-nonce': nonce,
        'x-lark-signature': computeFeishuSignature(timestamp, nonce, FEISHU.encryptKey, body),
      },
      body,
    });
  },
};

const BAD_IDS: Record<string, string> = {
  'a NUL byte': 'm\u0000x',
  'a lone surrogate': 'm\ud800x',
  'a newline': 'm\nx',
  '100,000 characters': 'm'.repeat(100_000),
};
const ID_FIELDS = ['messageId', 'conversationId', 'senderId'] as const;

describe('hostile ids', () => {
  for (const [channel, deliver] of Object.entries(CHANNELS)) {
    for (const field of ID_FIELDS) {
      for (const [what, value] of Object.entries(BAD_IDS)) {
        it(`${channel}: a ${field} with ${what} is refused with a 400 and starts no run`, async () => {
          const fields = { ...fresh(), [field]: value };
          const response = await deliver(fields);
          const body = await response.text();
          expect(response.status, body.slice(0, 300)).toBe(400);
          expect(body).toContain('bad_request');
        });
      }
    }
  }
});

describe('hostile text', () => {
  for (const [channel, deliver] of Object.entries(CHANNELS)) {
    it(`${channel}: a text with a NUL byte and a lone surrogate is stored with U+FFFD and answered`, async () => {
      const fields = { ...fresh(), text: '/echo a\u0000b\ud800c' };
      const response = await deliver(fields);
      expect(response.status).toBeLessThan(300);
      const result = (await platform.temporal.workflow
        .getHandle(messageWorkflowId(channel, fields.messageId))
        .result()) as RunStatus;
      expect(result).toMatchObject({ outcome: 'replied', reply: 'a\ufffdb\ufffdc' });
    });
  }
});

describe('hostile URLs', () => {
  const paths = [
    '/v1/messages?wait=%00',
    '/v1/runs/%00',
    '/v1/runs/message%3Aapi%3A%00',
    '/v1/runs/%ED%A0%80',
    '/v1/runs?channel=%00&owner=%00',
    '/v1/privacy/users/api/%00/export',
    '/v1/schedules/%00',
    '/v1/keys/%00',
    '/v1/audit?actor=%00',
    '/webhooks/custom?wait=%00',
    '/webhooks/%00',
    '/v1/runs/%E0%A4%A',
  ];
  for (const path of paths) {
    it(`${path} is a 400, not a 500`, async () => {
      const method = path.startsWith('/v1/messages') || path.startsWith('/webhooks') ? 'POST' : 'GET';
      const response = await platform.api(path, {
        method,
        ...(method === 'POST'
          ? { body: JSON.stringify({ conversation_id: 'c', sender: { id: 'u' }, text: 'hi' }) }
          : {}),
      });
      expect(response.status).toBe(400);
    });
  }
});
