// Issue 14, case 5 on the npm start topology: the chat platform's send API is down while messages keep coming,
// then back. Feishu's open API (the fake speaks its wire protocol) answers every reply call with HTTP 503 for
// OUTAGE_MS, compressed from the 30 minutes: the reply activity's retries (1 s doubling to 5 min, 20
// attempts, about an hour in all) are what carry the replies across, at any length within that hour. Counted at
// the fake: every message is answered exactly once, and the replies of each conversation arrive in the order
// their messages were sent.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FeishuOpenApiFake, startFeishuOpenApi } from '../fakes/feishu-open-api.js';
import { deliverFeishuText } from '../support/feishu-events.js';
import { eventually, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { replyOrder } from '../support/reply-order.js';

const FEISHU = { appId: 'cli_send_outage', appSecret: `fs-out-${randomBytes(8).toString('hex')}`, token: 'fs-out' };
const CONVERSATIONS = 3;
const MESSAGES_PER_CONVERSATION = 8;
const INTERVAL_MS = 800;
const OUTAGE_MS = 20_000;

let platform: TestPlatform;
let feishu: FeishuOpenApiFake;

beforeAll(async () => {
  feishu = await startFeishuOpenApi({ appId: FEISHU.appId, appSecret: FEISHU.appSecret });
  platform = await startTestPlatform({
    FEISHU_APP_ID: FEISHU.appId,
    FEISHU_APP_SECRET: FEISHU.appSecret,
    FEISHU_VERIFICATION_TOKEN: FEISHU.token,
    FEISHU_BASE_URL: feishu.url,
    PIPELINE_PROGRESS_DELAY_MS: '600000',
  });
}, 60_000);
afterAll(async () => {
  await platform?.stop();
  await feishu?.close();
});

const deliver = (messageId: string, chatId: string, text: string) =>
  deliverFeishuText(platform.apiUrl, {
    token: FEISHU.token,
    appId: FEISHU.appId,
    messageId,
    chatId,
    chatType: 'group',
    text,
    openId: 'ou_out',
  });

describe('the chat platform send API down, then back', () => {
  it('delivers every reply exactly once, in order per conversation', async () => {
    const tag = randomBytes(3).toString('hex');
    const chats = Array.from({ length: CONVERSATIONS }, (_, index) => `oc_${tag}_${index}`);
    /** Message id → [chat, position in its chat]. */
    const sent = new Map<string, [string, number]>();
    const started = Date.now();
    feishu.setOutage({ status: 503, code: 1, msg: 'service unavailable' });
    // The calls the fake received before the restore were all answered 503 (it decides synchronously on arrival).
    let failedCalls = 0;
    const restored = new Promise<void>((resolve) =>
      setTimeout(() => {
        failedCalls = feishu.received.length;
        feishu.setOutage(undefined);
        resolve();
      }, OUTAGE_MS),
    );
    for (let position = 0; position < MESSAGES_PER_CONVERSATION; position += 1) {
      for (const chat of chats) {
        const messageId = `om_${tag}_${chat.slice(-1)}_${position}`;
        sent.set(messageId, [chat, position]);
        expect(await deliver(messageId, chat, `/echo ${chat} ${position}`)).toBe(200);
      }
      await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS));
    }
    await restored;

    /** The successful reply calls, in the order the fake answered them. */
    const delivered = () =>
      feishu.received
        .slice(failedCalls)
        .filter((request) => sent.has(/\/messages\/([^/]+)\/reply$/.exec(request.path)?.[1] ?? ''));
    await eventually(
      async () => (new Set(delivered().map(parentOf)).size === sent.size ? true : undefined),
      90_000,
      'a reply to every message',
    );
    const recoveredAfterMs = Date.now() - started - OUTAGE_MS;

    const replies = delivered().map(parentOf);
    const { duplicated, outOfOrder } = replyOrder(replies, sent, chats);
    console.error(
      `chat send outage ${OUTAGE_MS} ms: ${JSON.stringify({ messages: sent.size, replies: replies.length, duplicated, outOfOrder, failedCalls })}, every reply in ${recoveredAfterMs} ms after the outage ended`,
    );
    expect(replies).toHaveLength(sent.size);
    expect(duplicated).toBe(0);
    expect(outOfOrder).toEqual([]);
  });
});

const parentOf = (request: { path: string }) => /\/messages\/([^/]+)\/reply$/.exec(request.path)![1]!;
