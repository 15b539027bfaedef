// Issue 14, case 2 on the npm start topology (startTestPlatform: API and worker in one process, the shared Temporal
// dev server): PostgreSQL is cut for 30 s under steady load. A TCP proxy the test controls stands between Conduit
// and the machine's PostgreSQL; the cut destroys every open connection and refuses new ones, then the proxy listens
// again on the same port. The machine's cluster is never stopped. Counted at a signed-callback receiver: every
// acknowledged message is answered once, and a DingTalk delivery whose signature claim cannot be recorded is
// answered 503 (DingTalk redelivers on non-200), never 500.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { computeDingTalkSign } from '../../channels/dingtalk/sign.js';
import { type DingTalkOpenApiFake, startDingTalkOpenApi } from '../fakes/dingtalk-open-api.js';
import { type CallbackReceiver, runLoad, startCallbackReceiver, summarise } from '../support/fault-load.js';
import { eventually, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const SECRET = `whsec_pg_${randomBytes(12).toString('hex')}`;
const DINGTALK = { appKey: 'ding-pg-app', appSecret: `dt-pg-${randomBytes(12).toString('hex')}` };
const RATE_PER_SECOND = 4;
const LOAD_MS = 40_000;
const CUT_AT_MS = 4_000;
const OUTAGE_MS = 30_000;

let proxy: TcpProxy;
let receiver: CallbackReceiver;
let dingtalk: DingTalkOpenApiFake;
let platform: TestPlatform;

beforeAll(async () => {
  const database = new URL(inject('databaseUrl'));
  proxy = await startTcpProxy({ host: database.hostname, port: Number(database.port || 5432) });
  database.hostname = '127.0.0.1';
  database.port = String(proxy.port);
  receiver = await startCallbackReceiver();
  dingtalk = await startDingTalkOpenApi(DINGTALK);
  platform = await startTestPlatform({
    DATABASE_URL: database.toString(),
    CUSTOM_WEBHOOK_SECRET: SECRET,
    CUSTOM_CALLBACK_ALLOWED_HOSTS: '127.0.0.1',
    DINGTALK_APP_KEY: DINGTALK.appKey,
    DINGTALK_APP_SECRET: DINGTALK.appSecret,
    DINGTALK_API_BASE_URL: dingtalk.url,
    PIPELINE_PROGRESS_DELAY_MS: '600000',
  });
}, 120_000);
afterAll(async () => {
  await proxy?.restore();
  await platform?.stop();
  await Promise.all([receiver?.close(), dingtalk?.close()]);
  await proxy?.close();
}, 120_000);

function postDingTalk(): Promise<Response> {
  const now = Date.now();
  const body = {
    conversationId: `cid${randomBytes(12).toString('base64')}`,
    atUsers: [],
    chatbotCorpId: 'dingcorp',
    chatbotUserId: '$:LWCP_v1:$robot',
    msgId: `msg${randomBytes(12).toString('base64url')}`,
    senderNick: 'Ann',
    isAdmin: false,
    senderStaffId: `staff-${randomBytes(4).toString('hex')}`,
    sessionWebhookExpiredTime: now + 90 * 60_000,
    createAt: now,
    senderCorpId: 'dingcorp',
    conversationType: '1',
    senderId: `$:LWCP_v1:$${randomBytes(8).toString('hex')}`,
    sessionWebhook: dingtalk.sessionWebhookUrl(`session-${randomBytes(4).toString('hex')}`),
    robotCode: DINGTALK.appKey,
    msgtype: 'text',
    text: { content: ' /echo while PostgreSQL is away' },
  };
  const timestamp = String(now);
  return fetch(`${platform.apiUrl}/webhooks/dingtalk`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json; charset=utf-8',
      timestamp,
      sign: computeDingTalkSign(DINGTALK.appSecret, timestamp),
    },
    body: JSON.stringify(body),
  });
}

describe('PostgreSQL cut for 30 s under load', () => {
  it('answers every acknowledged message once, and the doors answer honestly meanwhile', async () => {
    const dingtalkDuringOutage: Array<{ status: number; retryAfter: string | null; ms: number }> = [];
    let restoredAt = 0;
    const started = performance.now();
    const { deliveries, faultsAt } = await runLoad({
      baseUrl: platform.apiUrl,
      secret: SECRET,
      callbackUrl: receiver.url,
      ratePerSecond: RATE_PER_SECOND,
      durationMs: LOAD_MS,
      faults: [
        { atMs: CUT_AT_MS, inject: () => proxy.cut() },
        {
          atMs: CUT_AT_MS + 5_000,
          inject: async () => {
            const asked = performance.now();
            const response = await postDingTalk();
            await response.arrayBuffer();
            dingtalkDuringOutage.push({
              status: response.status,
              retryAfter: response.headers.get('retry-after'),
              ms: performance.now() - asked,
            });
          },
        },
        {
          atMs: CUT_AT_MS + OUTAGE_MS,
          inject: async () => {
            await proxy.restore();
            restoredAt = performance.now() - started;
          },
        },
      ],
    });
    await eventually(
      async () => (deliveries.every((delivery) => receiver.replies.has(delivery.messageId)) ? true : undefined),
      60_000,
      'a reply to every message',
    ).catch(() => undefined);
    const lastReplyAt = performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const outcome = summarise(deliveries, receiver.replies);
    const dingtalkAfter = await postDingTalk();
    console.error(
      `PostgreSQL cut at ${Math.round(faultsAt[0]!)} ms for ${OUTAGE_MS} ms (restored at ${Math.round(restoredAt)} ms) ` +
        `under ${RATE_PER_SECOND} msg/s: ${JSON.stringify(outcome)}, every reply in by ${Math.round(lastReplyAt)} ms ` +
        `(${Math.round(lastReplyAt - restoredAt)} ms after the restore); DingTalk during the outage: ` +
        `${JSON.stringify(dingtalkDuringOutage)}, after: ${dingtalkAfter.status}`,
    );

    expect(outcome.unexpectedStatuses).toEqual([]);
    expect(outcome.acknowledged).toBe(outcome.messages);
    expect(outcome.missing).toBe(0);
    expect(outcome.duplicated).toBe(0);
    expect(dingtalkDuringOutage).toHaveLength(1);
    expect(dingtalkDuringOutage[0]!.status).toBe(503);
    expect(dingtalkDuringOutage[0]!.retryAfter).not.toBeNull();
    expect(dingtalkDuringOutage[0]!.ms).toBeLessThan(12_000);
    expect(dingtalkAfter.status).toBe(200);
  }, 150_000);
});
