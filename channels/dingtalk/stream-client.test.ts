import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BadRequestError, UnavailableError } from '../../core/errors.js';
import { createLogger } from '../../pii/logger.js';
import {
  type DingTalkStreamGatewayFake,
  startDingTalkStreamGateway,
} from '../../test/fakes/dingtalk-stream-gateway.js';
import { createDingTalkStreamClient, type DingTalkStreamClient } from './stream-client.js';

const APP = { appKey: 'ding-stream-key', appSecret: 'ding-stream-secret' };

/** A handler the test settles by hand, one delivery at a time. */
interface Delivery {
  body: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

let gateway: DingTalkStreamGatewayFake;
let client: DingTalkStreamClient | undefined;
let deliveries: Delivery[];

beforeEach(async () => {
  gateway = await startDingTalkStreamGateway(APP);
  deliveries = [];
});
afterEach(async () => {
  await client?.stop();
  client = undefined;
  await gateway.close();
});

function startClient(reconnectDelayMs = { initial: 20, max: 200 }) {
  client = createDingTalkStreamClient(
    { ...APP, gatewayUrl: gateway.url, reconnectDelayMs },
    {
      fetch: globalThis.fetch,
      now: () => new Date(),
      logger: createLogger('silent'),
      onRobotMessage: (body) =>
        new Promise<void>((resolve, reject) => {
          deliveries.push({ body, resolve, reject });
        }),
    },
  );
  client.start();
  return client;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function nextDelivery(count: number): Promise<Delivery> {
  await until(() => deliveries.length >= count, `delivery ${count}`);
  return deliveries[count - 1]!;
}

/** Frames are handled in order, so once a later ping is answered every earlier frame has been looked at. */
async function barrier(): Promise<void> {
  await gateway.waitForAnswer(gateway.pushSystem('ping', { opaque: 'barrier' }));
}

const robotBody = { msgId: 'msg-1', msgtype: 'text', text: { content: 'hello' } };

describe('DingTalk stream client', () => {
  it('opens the connection with the app credentials and a CALLBACK subscription to the robot topic', async () => {
    startClient();
    await gateway.waitForConnection();
    expect(gateway.openRequests).toHaveLength(1);
    expect(gateway.openRequests[0]!.body).toMatchObject({
      clientId: APP.appKey,
      clientSecret: APP.appSecret,
      subscriptions: [{ type: 'CALLBACK', topic: '/v1.0/im/bot/messages/get' }],
    });
    expect(gateway.openRequests[0]!.headers['accept']).toBe('application/json');
  });

  it('ACKs a robot message only after its handler has resolved', async () => {
    startClient();
    await gateway.waitForConnection();
    const messageId = gateway.pushRobotMessage(robotBody);
    const delivery = await nextDelivery(1);
    expect(JSON.parse(delivery.body)).toEqual(robotBody);

    await barrier();
    expect(gateway.answersTo(messageId)).toEqual([]);

    delivery.resolve();
    const answer = await gateway.waitForAnswer(messageId);
    expect(answer.frame).toEqual({
      code: 200,
      headers: { contentType: 'application/json', messageId },
      message: 'OK',
      data: JSON.stringify({ response: null }),
    });
    expect(gateway.answersTo(messageId)).toHaveLength(1);
  });

  it('leaves a message unanswered when its handler fails, and ACKs the redelivery that succeeds', async () => {
    startClient();
    await gateway.waitForConnection();
    const first = gateway.pushRobotMessage(robotBody);
    (await nextDelivery(1)).reject(new UnavailableError('Temporal is unreachable'));
    await barrier();
    expect(gateway.answersTo(first)).toEqual([]);

    const again = gateway.pushRobotMessage(robotBody);
    (await nextDelivery(2)).resolve();
    expect((await gateway.waitForAnswer(again)).frame.code).toBe(200);
    expect(gateway.answersTo(first)).toEqual([]);
  });

  it('answers a message its handler refuses as malformed with code 400, so it is not pushed again', async () => {
    startClient();
    await gateway.waitForConnection();
    const messageId = gateway.pushRobotMessage({ msgtype: 'text' });
    (await nextDelivery(1)).reject(new BadRequestError('invalid DingTalk callback: msgId: required'));
    const answer = await gateway.waitForAnswer(messageId);
    expect(answer.frame).toMatchObject({ code: 400, message: 'invalid DingTalk callback: msgId: required' });
  });

  it('answers a SYSTEM ping with code 200 and the ping’s own headers and data', async () => {
    startClient();
    await gateway.waitForConnection();
    const messageId = gateway.pushSystem('ping', { opaque: 'abc' });
    const answer = await gateway.waitForAnswer(messageId);
    expect(answer.frame).toMatchObject({
      code: 200,
      message: 'OK',
      headers: { messageId, topic: 'ping', connectionId: 'conn-1' },
      data: JSON.stringify({ opaque: 'abc' }),
    });
  });

  it('answers a frame for a topic it did not subscribe to with 404 and hands it to no handler', async () => {
    startClient();
    await gateway.waitForConnection();
    const messageId = gateway.pushRobotMessage(robotBody, { topic: '/v1.0/card/instances/callback' });
    expect((await gateway.waitForAnswer(messageId)).frame.code).toBe(404);
    expect(deliveries).toEqual([]);
  });

  it('opens a new connection at once when the gateway announces a disconnect, without waiting for a backoff', async () => {
    // A backoff this long would outlast the test: only the immediate reconnect can pass.
    startClient({ initial: 60_000, max: 60_000 });
    await gateway.waitForConnection();
    gateway.pushSystem('disconnect', { reason: 'persistent connection is timeout' });
    await gateway.waitForConnection(2);
    expect(gateway.openRequests).toHaveLength(2);

    // The new connection carries messages.
    const messageId = gateway.pushRobotMessage(robotBody);
    (await nextDelivery(1)).resolve();
    expect((await gateway.waitForAnswer(messageId)).connection).toBe(2);
  });

  it('reconnects after the connection drops, and after the gateway refuses to open one', async () => {
    startClient();
    await gateway.waitForConnection();
    gateway.refuseNext(503, { code: 'ServiceUnavailable', message: 'busy' });
    gateway.dropConnections();
    await gateway.waitForConnection(2);
    expect(gateway.openRequests.length).toBeGreaterThanOrEqual(3);
    // Each connection used a fresh ticket: the fake accepts a ticket once.
    expect(gateway.connectionCount()).toBe(2);
  });

  it('keeps retrying when the credentials are refused', async () => {
    gateway.refuseNext(401, { code: 'InvalidAuthentication', message: 'clientId or clientSecret is invalid' });
    gateway.refuseNext(401, { code: 'InvalidAuthentication', message: 'clientId or clientSecret is invalid' });
    startClient();
    await gateway.waitForConnection();
    expect(gateway.openRequests).toHaveLength(3);
  });

  it('on stop, lets a message in flight finish and ACK before closing, then stays closed', async () => {
    const running = startClient();
    await gateway.waitForConnection();
    const messageId = gateway.pushRobotMessage(robotBody);
    const delivery = await nextDelivery(1);
    const stopping = running.stop();
    delivery.resolve();
    await stopping;
    client = undefined;
    expect(gateway.answersTo(messageId).map((answer) => answer.frame.code)).toEqual([200]);
    await until(() => gateway.openConnections() === 0, 'the gateway to see the connection close');
    expect(gateway.connectionCount()).toBe(1);
    expect(gateway.openRequests).toHaveLength(1);
  });
});
