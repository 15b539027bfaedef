// The bridge channel, Conduit's example channel (docs/channels.md, "Adding a channel"), end to end on the real
// platform (Temporal, PostgreSQL, MinIO): a message posted to /webhooks/bridge with the shared token runs the
// pipeline, and the reply arrives at the bridge's own reply endpoint, a local HTTP server here.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BridgeReply } from '../channels/bridge/adapter.js';
import { messageWorkflowId, type RunStatus } from '../runs/contract.js';
import { eventually, startTestPlatform, type TestPlatform } from './support/platform.js';
import * as runs from './support/runs.js';

const TOKEN = `bridge-it-${randomBytes(12).toString('hex')}`;

interface Delivery {
  headers: IncomingHttpHeaders;
  reply: BridgeReply;
}

let platform: TestPlatform;
let closeReplyServer: () => Promise<void>;
const deliveries: Delivery[] = [];

beforeAll(async () => {
  // The bridge's side: it takes Conduit's replies and would post them into its chat system.
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      deliveries.push({ headers: req.headers, reply: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const replyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/from-conduit`;
  closeReplyServer = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });

  platform = await startTestPlatform({
    BRIDGE_TOKEN: TOKEN,
    BRIDGE_REPLY_URL: replyUrl,
    // Only final replies here: /echo answers at once, and no "working on it" notice interleaves.
    PIPELINE_PROGRESS_DELAY_MS: '600000',
  });
});

afterAll(async () => {
  await platform?.stop();
  await closeReplyServer?.();
});

const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;

function postBridge(body: unknown, token = TOKEN): Promise<Response> {
  return fetch(`${platform.apiUrl}/webhooks/bridge`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
}

describe('bridge channel', () => {
  it('runs a message posted with the token and delivers the reply to the reply URL, once', async () => {
    const message = { id: unique('m'), room: unique('room'), user: 'alice', user_name: 'Alice', text: '/echo hello' };
    const response = await postBridge(message);
    expect(response.status).toBe(202);
    const workflowId = messageWorkflowId('bridge', message.id);
    expect(await response.json()).toMatchObject({ workflowId, duplicate: false });

    const result = (await platform.temporal.workflow.getHandle(workflowId).result()) as RunStatus;
    expect(result).toMatchObject({ outcome: 'replied', reply: 'hello' });
    const delivered = await eventually(
      async () => {
        const found = deliveries.filter((d) => d.reply.in_reply_to === message.id);
        return found.length > 0 ? found : undefined;
      },
      10_000,
      'the reply at the bridge',
    );
    expect(delivered).toHaveLength(1);
    expect(delivered[0]!.reply).toEqual({
      room: message.room,
      in_reply_to: message.id,
      kind: 'reply',
      text: 'hello',
      format: 'markdown',
    });
    expect(delivered[0]!.headers['authorization']).toBe(`Bearer ${TOKEN}`);
    expect(delivered[0]!.headers['idempotency-key']).toBe(`${workflowId}:final`);

    // The bridge redelivers (it saw no answer in time): the same run is found, nothing is sent again.
    const again = await postBridge(message);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ workflowId, duplicate: true });
    expect(await runs.executionsOf(platform, workflowId)).toBe(1);
    expect(deliveries.filter((d) => d.reply.in_reply_to === message.id)).toHaveLength(1);
  });

  it('answers within the same request with ?wait', async () => {
    const message = { id: unique('m'), room: unique('room'), user: 'bob', text: '/echo same exchange' };
    const response = await fetch(`${platform.apiUrl}/webhooks/bridge?wait=30`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(message),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ result: { outcome: 'replied', reply: 'same exchange' } });
  });

  it('refuses a wrong token with 401 and starts no run', async () => {
    const message = { id: unique('m'), room: 'ops', user: 'mallory', text: '/echo let me in' };
    const response = await postBridge(message, 'not-the-bridge-token');
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    await runs.expectNoRun(platform, messageWorkflowId('bridge', message.id));
  });

  it('refuses a malformed message with 400 naming the field', async () => {
    const response = await postBridge({ id: unique('m'), room: 'ops', text: 'no user' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain('user');
  });
});
