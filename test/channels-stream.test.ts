// The stream ingress modes end to end on the real platform (Temporal, PostgreSQL, MinIO): Conduit connects out
// to a fake DingTalk Stream gateway and, through the official Feishu SDK's WSClient, to a fake Feishu
// long-connection gateway; messages pushed there start runs, and replies land on the open API fakes.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageWorkflowId, type RunStatus } from '../runs/contract.js';
import { type DingTalkOpenApiFake, startDingTalkOpenApi } from './fakes/dingtalk-open-api.js';
import { type DingTalkStreamGatewayFake, startDingTalkStreamGateway } from './fakes/dingtalk-stream-gateway.js';
import { createFeishuLongConnectionGateway, type FeishuLongConnectionGateway } from './fakes/feishu-long-connection.js';
import { type FeishuOpenApiFake, startFeishuOpenApi } from './fakes/feishu-open-api.js';
import { startTestPlatform, type TestPlatform } from './support/platform.js';
import * as runs from './support/runs.js';

const DINGTALK = { appKey: 'ding-stream-it-key', appSecret: `dt-stream-it-${randomBytes(12).toString('hex')}` };
// The Feishu SDK only starts for app ids of this form.
const FEISHU = {
  appId: `cli_${randomBytes(8).toString('hex')}`,
  appSecret: `fs-lc-it-${randomBytes(12).toString('hex')}`,
};

let platform: TestPlatform;
let dingtalk: DingTalkOpenApiFake;
let gateway: DingTalkStreamGatewayFake;
let feishu: FeishuOpenApiFake;
let longConnection: FeishuLongConnectionGateway;

beforeAll(async () => {
  dingtalk = await startDingTalkOpenApi(DINGTALK);
  gateway = await startDingTalkStreamGateway(DINGTALK);
  longConnection = createFeishuLongConnectionGateway(FEISHU);
  feishu = await startFeishuOpenApi({ ...FEISHU, extend: longConnection.attach });
  platform = await startTestPlatform({
    DINGTALK_APP_KEY: DINGTALK.appKey,
    DINGTALK_APP_SECRET: DINGTALK.appSecret,
    DINGTALK_API_BASE_URL: dingtalk.url,
    DINGTALK_STREAM: 'true',
    DINGTALK_STREAM_GATEWAY_URL: gateway.url,
    FEISHU_APP_ID: FEISHU.appId,
    FEISHU_APP_SECRET: FEISHU.appSecret,
    FEISHU_BASE_URL: feishu.url,
    FEISHU_LONG_CONNECTION: 'true',
    // Only final replies: /echo answers at once, and no "working on it" notice interleaves.
    PIPELINE_PROGRESS_DELAY_MS: '600000',
  });
  await Promise.all([gateway.waitForConnection(), longConnection.waitForConnection()]);
});

afterAll(async () => {
  await platform?.stop();
  longConnection?.close();
  await Promise.all([dingtalk?.close(), gateway?.close(), feishu?.close()]);
});

const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;

async function runResult(workflowId: string): Promise<RunStatus> {
  return (await platform.temporal.workflow.getHandle(workflowId).result()) as RunStatus;
}

async function startTime(workflowId: string): Promise<number> {
  return (await platform.temporal.workflow.getHandle(workflowId).describe()).startTime.getTime();
}

const executionsOf = (workflowId: string) => runs.executionsOf(platform, workflowId);
const expectNoRun = (workflowId: string) => runs.expectNoRun(platform, workflowId);
const metricValue = (series: string) => runs.metricValue(platform, series);

// ---- DingTalk Stream mode --------------------------------------------------------------------------------------

/** A robot message body exactly as an HTTP callback would carry it. */
function robotMessage(text: string, session: string) {
  const now = Date.now();
  return {
    conversationId: `cid${randomBytes(12).toString('base64')}`,
    atUsers: [],
    chatbotCorpId: 'dingcorp',
    chatbotUserId: '$:LWCP_v1:$robot',
    msgId: `msg${randomBytes(12).toString('base64url')}`,
    senderNick: 'Ann',
    isAdmin: false,
    senderStaffId: unique('staff'),
    sessionWebhookExpiredTime: now + 90 * 60_000,
    createAt: now,
    senderCorpId: 'dingcorp',
    conversationType: '1',
    senderId: `$:LWCP_v1:$${randomBytes(8).toString('hex')}`,
    sessionWebhook: dingtalk.sessionWebhookUrl(session),
    robotCode: DINGTALK.appKey,
    msgtype: 'text',
    text: { content: ` ${text}` },
  };
}

const sessionCalls = (session: string) =>
  dingtalk.received.filter((call) => call.path === '/robot/sendBySession' && call.query['session'] === session);

describe('DingTalk Stream mode', () => {
  it('opened the gateway connection with the app credentials and the robot topic', () => {
    expect(gateway.openRequests[0]!.body).toMatchObject({
      clientId: DINGTALK.appKey,
      clientSecret: DINGTALK.appSecret,
      subscriptions: [{ type: 'CALLBACK', topic: '/v1.0/im/bot/messages/get' }],
    });
  });

  it('a robot message frame starts exactly one run, is ACKed after the run started, and is answered', async () => {
    const session = unique('session');
    const body = robotMessage('/echo 你好 Stream', session);
    const workflowId = messageWorkflowId('dingtalk', body.msgId);
    const frameId = gateway.pushRobotMessage(body);

    const ack = await gateway.waitForAnswer(frameId);
    expect(ack.frame).toMatchObject({ code: 200, headers: { messageId: frameId }, message: 'OK' });
    expect(ack.at).toBeGreaterThanOrEqual(await startTime(workflowId));

    expect(await runResult(workflowId)).toMatchObject({ outcome: 'replied', reply: '你好 Stream' });
    expect(await executionsOf(workflowId)).toBe(1);
    const calls = sessionCalls(session);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.body).toEqual({ msgtype: 'markdown', markdown: { title: '你好 Stream', text: '你好 Stream' } });
    expect(gateway.answersTo(frameId)).toHaveLength(1);
  });

  it('a redelivered frame (same msgId) starts no second run and sends no second reply, and is ACKed', async () => {
    const session = unique('session');
    const body = robotMessage('/echo only once', session);
    const workflowId = messageWorkflowId('dingtalk', body.msgId);
    const duplicates = 'conduit_inbound_messages_total{channel="dingtalk",outcome="duplicate",reason=""}';
    const duplicatesBefore = await metricValue(duplicates);

    const first = gateway.pushRobotMessage(body);
    const second = gateway.pushRobotMessage(body);
    const answers = await Promise.all([gateway.waitForAnswer(first), gateway.waitForAnswer(second)]);
    expect(answers.map((answer) => answer.frame.code)).toEqual([200, 200]);
    await runResult(workflowId);

    const late = gateway.pushRobotMessage(body);
    expect((await gateway.waitForAnswer(late)).frame.code).toBe(200);
    expect(await executionsOf(workflowId)).toBe(1);
    expect(sessionCalls(session)).toHaveLength(1);
    expect(await metricValue(duplicates)).toBe(duplicatesBefore + 2);
  });

  it('answers a malformed robot message with code 400 and starts no run', async () => {
    const rejected = 'conduit_inbound_messages_total{channel="dingtalk",outcome="rejected",reason="bad_request"}';
    const before = await metricValue(rejected);
    const frameId = gateway.pushRobotMessage({ msgtype: 'text', text: { content: 'no ids at all' } });
    const answer = await gateway.waitForAnswer(frameId);
    expect(answer.frame.code).toBe(400);
    expect(String(answer.frame.message)).toMatch(/^invalid DingTalk callback/);
    expect(await metricValue(rejected)).toBe(before + 1);
  });

  it('refuses a message whose sessionWebhook is not DingTalk’s with code 400 and starts no run', async () => {
    const body = { ...robotMessage('/echo elsewhere', unique('session')), sessionWebhook: 'https://evil.example/hook' };
    const answer = await gateway.waitForAnswer(gateway.pushRobotMessage(body));
    expect(answer.frame).toMatchObject({ code: 400, message: 'DingTalk sessionWebhook is not a DingTalk address' });
    await expectNoRun(messageWorkflowId('dingtalk', body.msgId));
  });
});

// ---- Feishu long connection --------------------------------------------------------------------------------------

/** A schema 2.0 im.message.receive_v1 event as Feishu pushes it over the long connection (not encrypted). */
function feishuMessageEvent(text: string) {
  const now = Date.now();
  return {
    schema: '2.0',
    header: {
      event_id: randomBytes(16).toString('hex'),
      event_type: 'im.message.receive_v1',
      create_time: String(now),
      token: '',
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
        chat_type: 'p2p',
        message_type: 'text',
        content: JSON.stringify({ text }),
      },
    },
  };
}

const replyCalls = (messageId: string) =>
  feishu.received.filter((call) => call.path === `/open-apis/im/v1/messages/${messageId}/reply`);

describe('Feishu long connection', () => {
  it('asked for the WebSocket endpoint with the app credentials and keeps the connection alive with pings', () => {
    expect(longConnection.endpointRequests[0]!.body).toEqual({ AppID: FEISHU.appId, AppSecret: FEISHU.appSecret });
    expect(longConnection.pings()).toBeGreaterThanOrEqual(1);
  });

  it('a message event starts one run, is answered 200 once the run started, and the reply goes out', async () => {
    const event = feishuMessageEvent('/echo 你好 long connection');
    const messageId = event.event.message.message_id;
    const workflowId = messageWorkflowId('feishu', messageId);
    const pushedAt = Date.now();
    const frameId = longConnection.pushEvent(event);

    const answer = await longConnection.waitForAnswer(frameId);
    expect(answer.code).toBe(200);
    expect(answer.at - pushedAt).toBeLessThan(3000);
    expect(answer.at).toBeGreaterThanOrEqual(await startTime(workflowId));

    expect(await runResult(workflowId)).toMatchObject({ outcome: 'replied', reply: '你好 long connection' });
    const calls = replyCalls(messageId);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.headers.authorization).toMatch(/^Bearer t-fake-/);
    const body = calls[0]!.body as { msg_type: string; content: string };
    expect(JSON.parse(body.content)).toEqual({ zh_cn: { content: [[{ tag: 'md', text: '你好 long connection' }]] } });
  });

  it('a redelivered event starts no second run and sends no second reply', async () => {
    const event = feishuMessageEvent('/echo once over the long connection');
    const messageId = event.event.message.message_id;
    const workflowId = messageWorkflowId('feishu', messageId);
    const first = longConnection.pushEvent(event);
    const second = longConnection.pushEvent(event);
    const answers = await Promise.all([longConnection.waitForAnswer(first), longConnection.waitForAnswer(second)]);
    expect(answers.map((answer) => answer.code)).toEqual([200, 200]);
    await runResult(workflowId);
    expect((await longConnection.waitForAnswer(longConnection.pushEvent(event))).code).toBe(200);
    expect(await executionsOf(workflowId)).toBe(1);
    expect(replyCalls(messageId)).toHaveLength(1);
  });

  it('answers an event from an app (the bot itself) as handled and starts no run', async () => {
    const event = feishuMessageEvent('/echo my own words');
    event.event.sender.sender_type = 'app';
    const ignored = 'conduit_inbound_messages_total{channel="feishu",outcome="ignored",reason="sent_by_app"}';
    const before = await metricValue(ignored);
    expect((await longConnection.waitForAnswer(longConnection.pushEvent(event))).code).toBe(200);
    expect(await metricValue(ignored)).toBe(before + 1);
    await expectNoRun(messageWorkflowId('feishu', event.event.message.message_id));
  });

  it('takes no Feishu webhooks when only the long connection is configured', async () => {
    const response = await fetch(`${platform.apiUrl}/webhooks/feishu`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'url_verification', challenge: 'c', token: '' }),
    });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });
});
