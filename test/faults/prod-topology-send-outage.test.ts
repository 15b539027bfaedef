// Issue 14, case 5 on the production topology (test/support/prod-fault-stack.ts: two API processes behind nginx, two
// workers): the chat platform's send API is down while messages keep coming, then back. Feishu's open API (the fake
// speaks its wire protocol) answers every reply call with HTTP 503 for 20 s, compressed from the 30 minutes
// as on the npm start topology (test/faults/chat-send-outage.test.ts): the reply activity's retries (about an hour)
// carry the replies across any outage within that hour. Counted at the fake: every message answered exactly once,
// the replies of each conversation in the order of its messages, though the runs' replies leave from both workers.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageWorkflowId } from '../../runs/contract.js';
import { type FeishuOpenApiFake, startFeishuOpenApi } from '../fakes/feishu-open-api.js';
import { deliverFeishuText } from '../support/feishu-events.js';
import { eventually } from '../support/platform.js';
import { type FaultStack, startFaultStack } from '../support/prod-fault-stack.js';
import { replyOrder } from '../support/reply-order.js';

const FEISHU = { appId: 'cli_prod_faults', appSecret: `fs-prod-${randomBytes(8).toString('hex')}`, token: 'fs-prod' };

let faults: FaultStack;
let feishu: FeishuOpenApiFake;

beforeAll(async () => {
  feishu = await startFeishuOpenApi({ appId: FEISHU.appId, appSecret: FEISHU.appSecret });
  faults = await startFaultStack({
    env: {
      FEISHU_APP_ID: FEISHU.appId,
      FEISHU_APP_SECRET: FEISHU.appSecret,
      FEISHU_VERIFICATION_TOKEN: FEISHU.token,
      FEISHU_BASE_URL: feishu.url,
    },
  });
}, 240_000);

afterAll(async () => {
  await faults?.close();
  await feishu?.close();
}, 120_000);

describe('case 5 on the production topology: the chat platform send API down, then back', () => {
  it('delivers every reply exactly once, in order per conversation, with both workers sending', async () => {
    const CONVERSATIONS = 3;
    const MESSAGES_PER_CONVERSATION = 8;
    const INTERVAL_MS = 800;
    const OUTAGE_MS = 20_000;
    const tag = randomBytes(3).toString('hex');
    const chats = Array.from({ length: CONVERSATIONS }, (_, index) => `oc_${tag}_${index}`);
    /** Message id → [chat, position in its chat]. */
    const sent = new Map<string, [string, number]>();
    const startedAt = Date.now();
    const callsBefore = feishu.received.length;
    feishu.setOutage({ status: 503, code: 1, msg: 'service unavailable' });
    // The calls the fake received before the restore were all answered 503 (it decides synchronously on arrival).
    let failedUntil = 0;
    const restored = new Promise<void>((resolve) =>
      setTimeout(() => {
        failedUntil = feishu.received.length;
        feishu.setOutage(undefined);
        resolve();
      }, OUTAGE_MS),
    );
    const statuses: number[] = [];
    for (let position = 0; position < MESSAGES_PER_CONVERSATION; position += 1) {
      for (const chat of chats) {
        const messageId = `om_${tag}_${chat.slice(-1)}_${position}`;
        sent.set(messageId, [chat, position]);
        statuses.push(
          await deliverFeishuText(faults.stack.url, {
            token: FEISHU.token,
            appId: FEISHU.appId,
            messageId,
            chatId: chat,
            chatType: 'group',
            text: `/echo ${chat} ${position}`,
            openId: 'ou_prod',
          }),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS));
    }
    await restored;

    const parentOf = (request: { path: string }) => /\/messages\/([^/]+)\/reply$/.exec(request.path)?.[1] ?? '';
    /** The successful reply calls, in the order the fake answered them. */
    const delivered = () => feishu.received.slice(failedUntil).filter((request) => sent.has(parentOf(request)));
    await eventually(
      async () => (new Set(delivered().map(parentOf)).size === sent.size ? true : undefined),
      90_000,
      'a reply to every message',
    ).catch(() => undefined);
    const recoveredAfterMs = Date.now() - startedAt - OUTAGE_MS;
    // A late duplicate would come after the last first reply.
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    const replies = delivered().map(parentOf);
    const { duplicated, outOfOrder } = replyOrder(replies, sent, chats);
    // Which worker sent each reply: the reply is a local activity, sent by the worker that completed the run's last
    // workflow task.
    const workflows = await faults.workflows();
    const senders = await Promise.all(
      [...sent.keys()].map(async (id) => {
        const { events } = await workflows.getHandle(messageWorkflowId('feishu', id)).fetchHistory();
        return events?.filter((event) => event.workflowTaskCompletedEventAttributes).at(-1)
          ?.workflowTaskCompletedEventAttributes?.identity;
      }),
    );
    const perWorker = new Map<string, number>();
    for (const sender of senders) perWorker.set(sender ?? '-', (perWorker.get(sender ?? '-') ?? 0) + 1);
    const failedCalls = failedUntil - callsBefore;
    console.error(
      `prod topology, chat send outage ${OUTAGE_MS} ms: ${JSON.stringify({ messages: sent.size, replies: replies.length, duplicated, outOfOrder, failedCalls })}, ` +
        `every reply in ${recoveredAfterMs} ms after the outage ended; runs per worker ${JSON.stringify([...perWorker.values()])}; ` +
        `webhook answers ${JSON.stringify([...new Set(statuses)])}`,
    );
    expect(statuses.every((status) => status === 200)).toBe(true);
    expect(new Set(replies).size).toBe(sent.size);
    expect(duplicated).toBe(0);
    expect(outOfOrder).toEqual([]);
    expect(failedCalls).toBeGreaterThan(0);
    // Both workers sent replies, so the order held across processes, not only within one.
    expect(perWorker.size).toBe(2);
  }, 150_000);
});
