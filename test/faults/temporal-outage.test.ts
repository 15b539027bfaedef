// Issue 14, case 1 at the doors: while Temporal is unreachable every ingress door answers quickly and honestly,
// and a message refused during the outage is accepted once it is sent again after Temporal is back. The test runs
// its own Temporal dev server (not the shared one), stops it under a running platform and starts it again on the
// same port and database. It has a PostgreSQL database of its own too: the refused message's 'accepted' event is
// taken back, and the gap it leaves in the event ids must not hold back the shared database's other readers.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PROTO_LOADER_OPTIONS, PROTO_PATH } from '../../api/grpc/server.js';
import { computeDingTalkSign } from '../../channels/dingtalk/sign.js';
import { computeFeishuSignature } from '../../channels/feishu/signature.js';
import { freePort } from '../../platform/free-port.js';
import { type RunningDevServer, startDevServer } from '../../platform/temporal-dev-server.js';
import { messageWorkflowId } from '../../runs/contract.js';
import { hasRunEvents } from '../../runs/run-event-feed.js';
import { type DingTalkOpenApiFake, startDingTalkOpenApi } from '../fakes/dingtalk-open-api.js';
import { encryptFeishuEvent, type FeishuOpenApiFake, startFeishuOpenApi } from '../fakes/feishu-open-api.js';
import { postSignedWebhook } from '../support/fault-load.js';
import { eventually, projectRoot, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { createTestDatabase } from '../support/postgres.js';
import { metricValue } from '../support/runs.js';

const CUSTOM_SECRET = `whsec_fault_${randomBytes(12).toString('hex')}`;
const DINGTALK = { appKey: 'ding-fault-app', appSecret: `dt-fault-${randomBytes(12).toString('hex')}` };
const FEISHU = {
  appId: 'cli_fault_app',
  appSecret: `fs-fault-${randomBytes(12).toString('hex')}`,
  verificationToken: `fs-fault-token-${randomBytes(8).toString('hex')}`,
  encryptKey: `fs-fault-key-${randomBytes(8).toString('hex')}`,
};
/** "Within about a second": the door gives up after one second of no connection; the rest is slack for CI. */
const QUICK_MS = 2500;

interface GrpcConduit extends grpc.Client {
  SendMessage(
    request: Record<string, unknown>,
    metadata: grpc.Metadata,
    callback: (error: grpc.ServiceError | null, response?: { workflow_id: string; duplicate: boolean }) => void,
  ): grpc.ClientUnaryCall;
}

let scratch: string;
let temporalPort: number;
let temporal: RunningDevServer | undefined;
let platform: TestPlatform;
let dingtalk: DingTalkOpenApiFake;
let feishu: FeishuOpenApiFake;
let grpcClient: GrpcConduit;
let database: { url: string; drop(): Promise<void> } | undefined;

const startTemporal = async () => {
  temporal = await startDevServer({
    projectRoot,
    dataDir: scratch,
    port: temporalPort,
    uiPort: await freePort(),
    namespace: 'default',
    cliVersion: 'v1.5.1',
    progress: () => undefined,
  });
};

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'conduit-fault-temporal-'));
  temporalPort = await freePort();
  await startTemporal();
  database = await createTestDatabase(() => undefined);
  dingtalk = await startDingTalkOpenApi(DINGTALK);
  feishu = await startFeishuOpenApi({ appId: FEISHU.appId, appSecret: FEISHU.appSecret });
  platform = await startTestPlatform({
    TEMPORAL_ADDRESS: temporal!.address,
    DATABASE_URL: database.url,
    GRPC_PORT: String(await freePort()),
    CUSTOM_WEBHOOK_SECRET: CUSTOM_SECRET,
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
  const definition = protoLoader.loadSync(PROTO_PATH, PROTO_LOADER_OPTIONS);
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    conduit: { v1: { Conduit: grpc.ServiceClientConstructor } };
  };
  grpcClient = new loaded.conduit.v1.Conduit(
    platform.grpcAddress!,
    grpc.credentials.createInsecure(),
  ) as unknown as GrpcConduit;
}, 180_000);

afterAll(async () => {
  grpcClient?.close();
  // Temporal must be up for the worker to drain and the platform to stop cleanly.
  if (!temporal && scratch) await startTemporal().catch(() => undefined);
  await platform?.stop();
  await temporal?.stop();
  await Promise.all([dingtalk?.close(), feishu?.close(), database?.drop()]);
  if (scratch) await rm(scratch, { recursive: true, force: true });
}, 120_000);

const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;

/** The answer and how long it took. */
async function timed<T>(call: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await call();
  return { value, ms: performance.now() - started };
}

function postCustom(body: object): Promise<Response> {
  const raw = JSON.stringify(body);
  return postSignedWebhook(platform.apiUrl, CUSTOM_SECRET, raw);
}

function postApiMessage(body: object): Promise<Response> {
  return platform.api('/v1/messages', { method: 'POST', body: JSON.stringify(body) });
}

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
    senderStaffId: unique('staff'),
    sessionWebhookExpiredTime: now + 90 * 60_000,
    createAt: now,
    senderCorpId: 'dingcorp',
    conversationType: '1',
    senderId: `$:LWCP_v1:$${randomBytes(8).toString('hex')}`,
    sessionWebhook: dingtalk.sessionWebhookUrl(unique('session')),
    robotCode: DINGTALK.appKey,
    msgtype: 'text',
    text: { content: ' /echo during the outage' },
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

function postFeishu(): Promise<Response> {
  const now = Date.now();
  const event = {
    schema: '2.0',
    header: {
      event_id: randomBytes(16).toString('hex'),
      event_type: 'im.message.receive_v1',
      create_time: String(now),
      token: FEISHU.verificationToken,
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
        content: JSON.stringify({ text: '/echo during the outage' }),
      },
    },
  };
  const body = JSON.stringify({ encrypt: encryptFeishuEvent(JSON.stringify(event), FEISHU.encryptKey) });
  const timestamp = String(Math.floor(now / 1000));
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
}

/** Sends one `message` frame on a fresh connection and resolves with the first frame that answers it. */
function sendOverWebSocket(messageId: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${platform.apiUrl.replace(/^http/, 'ws')}/v1/ws`, {
      headers: { authorization: `Bearer ${platform.adminKey}` },
    });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('no frame answered the message within 30 s'));
    }, 30_000);
    ws.once('error', reject);
    ws.once('open', () =>
      ws.send(
        JSON.stringify({
          type: 'message',
          message_id: messageId,
          conversation_id: 'fault-ws',
          sender: { id: 'fault-user' },
          text: '/echo over ws',
        }),
      ),
    );
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Record<string, unknown>;
      if (frame['type'] === 'error' || frame['workflowId'] === messageWorkflowId('ws', messageId)) {
        clearTimeout(timer);
        ws.close();
        resolve(frame);
      }
    });
  });
}

function sendOverGrpc(messageId: string): Promise<{ code?: grpc.status; workflowId?: string }> {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${platform.adminKey}`);
  const request = {
    message_id: messageId,
    conversation_id: 'fault-grpc',
    sender: { id: 'fault-user', name: '' },
    text: '/echo over grpc',
  };
  return new Promise((resolve) =>
    grpcClient.SendMessage(request, metadata, (error, response) =>
      resolve(error ? { code: error.code } : { workflowId: response?.workflow_id }),
    ),
  );
}

describe('Temporal unreachable', () => {
  const customMessage = { message_id: unique('m'), conversation_id: unique('c'), sender: { id: 'u1' }, text: '/echo' };
  const apiMessage = { message_id: unique('api'), conversation_id: unique('c'), sender: { id: 'u2' }, text: '/echo' };
  const wsMessageId = unique('ws');
  const grpcMessageId = unique('grpc');

  it('every door answers quickly: 503 with Retry-After over HTTP, non-200 to DingTalk and Feishu', async () => {
    // The doors work before the outage.
    const before = await postCustom({ ...customMessage, message_id: unique('before') });
    expect(before.status).toBe(202);

    await temporal!.stop();
    temporal = undefined;

    const custom = await timed(() => postCustom(customMessage));
    expect(custom.value.status).toBe(503);
    expect(Number(custom.value.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await custom.value.json()) as { error: { code: string } }).error.code).toBe('unavailable');
    expect(custom.ms).toBeLessThan(QUICK_MS);

    const api = await timed(() => postApiMessage(apiMessage));
    expect(api.value.status).toBe(503);
    expect(Number(api.value.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(api.ms).toBeLessThan(QUICK_MS);

    // DingTalk and Feishu redeliver what was not answered 200.
    const ding = await timed(postDingTalk);
    expect(ding.value.status).not.toBe(200);
    expect(ding.ms).toBeLessThan(QUICK_MS);
    const lark = await timed(postFeishu);
    expect(lark.value.status).not.toBe(200);
    expect(lark.ms).toBeLessThan(QUICK_MS);

    const ws = await timed(() => sendOverWebSocket(wsMessageId));
    expect(ws.value).toMatchObject({ type: 'error', error: { code: 'unavailable' }, message_id: wsMessageId });
    expect(ws.ms).toBeLessThan(QUICK_MS);
    // The 'accepted' event recorded before the start is taken back: no event announces a run that never started.
    await eventually(
      async () => ((await hasRunEvents(platform.database.db, messageWorkflowId('ws', wsMessageId))) ? undefined : true),
      10_000,
      'the refused message to leave no run event',
    );

    const viaGrpc = await timed(() => sendOverGrpc(grpcMessageId));
    expect(viaGrpc.value.code).toBe(grpc.status.UNAVAILABLE);
    expect(viaGrpc.ms).toBeLessThan(QUICK_MS);

    // Counted as refused for unavailability, never as accepted.
    expect(
      await metricValue(
        platform,
        'conduit_inbound_messages_total{channel="custom",outcome="rejected",reason="unavailable"}',
      ),
    ).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('accepts the refused messages once they are sent again after Temporal is back', async () => {
    await startTemporal();

    const custom = await eventually(
      async () => {
        const response = await postCustom(customMessage);
        return response.status === 503 ? undefined : response;
      },
      60_000,
      'the custom webhook to accept again',
    );
    expect(custom.status).toBe(202);
    const accepted = (await custom.json()) as { workflowId: string; duplicate: boolean };
    expect(accepted).toMatchObject({
      workflowId: messageWorkflowId('custom', customMessage.message_id),
      duplicate: false,
    });

    const api = await postApiMessage(apiMessage);
    expect(api.status).toBe(202);

    const ws = await sendOverWebSocket(wsMessageId);
    expect(ws).toMatchObject({ workflowId: messageWorkflowId('ws', wsMessageId), type: 'accepted' });
    const viaGrpc = await sendOverGrpc(grpcMessageId);
    expect(viaGrpc.workflowId).toBe(messageWorkflowId('grpc', grpcMessageId));

    // The run refused during the outage now runs to its answer.
    const result = (await platform.temporal.workflow.getHandle(accepted.workflowId).result()) as { outcome?: string };
    expect(result.outcome).toBe('replied');
  }, 120_000);
});
