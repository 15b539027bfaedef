// The connection's retry interceptor against a real gRPC server on loopback that answers as scripted: a refused
// call inside retryRefusalsFor reports its first refusal at once and is given up after its budget, a slow answer is
// still waited for, and every other call is retried as the SDK's default policy does.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retryRefusalsFor, temporalRetryInterceptor } from './refused-start-retry.js';

const PATH = '/temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution';
const identity = (value: Buffer) => value;
/** What the server does with the next calls: refuse this many, then answer after `delayMs`. */
const script = { refusals: 0, delayMs: 0, calls: 0 };
let server: grpc.Server;
let client: grpc.Client;

beforeAll(async () => {
  server = new grpc.Server();
  server.addService(
    {
      StartWorkflowExecution: {
        path: PATH,
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    },
    {
      StartWorkflowExecution: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => {
        script.calls += 1;
        if (script.refusals > 0) {
          script.refusals -= 1;
          callback({ code: grpc.status.UNAVAILABLE, details: 'shard status unknown' });
          return;
        }
        setTimeout(() => callback(null, Buffer.from('started')), script.delayMs);
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    interceptors: [temporalRetryInterceptor],
  });
});
afterAll(() => {
  client?.close();
  server?.forceShutdown();
});

function start(): Promise<{ ok: boolean; code?: number; ms: number }> {
  const sent = performance.now();
  return new Promise((resolve) =>
    client.makeUnaryRequest(PATH, identity, identity, Buffer.from('start'), (error) =>
      resolve({ ok: !error, code: error?.code, ms: performance.now() - sent }),
    ),
  );
}

function scripted(refusals: number, delayMs = 0) {
  Object.assign(script, { refusals, delayMs, calls: 0 });
}

describe('temporalRetryInterceptor', () => {
  it('reports the first refusal, and gives up a call the server keeps refusing once its budget has passed', async () => {
    scripted(1_000);
    const { result, firstRefusal } = retryRefusalsFor(500, start);
    const sent = performance.now();
    await firstRefusal;
    expect(performance.now() - sent).toBeLessThan(400);
    const outcome = await result;
    expect(outcome.ok).toBe(false);
    expect(outcome.code).toBe(grpc.status.UNAVAILABLE);
    expect(script.calls).toBeGreaterThan(1);
    expect(outcome.ms).toBeLessThan(1_500);
  });

  it('still waits for a slow answer past the budget: only resending stops', async () => {
    scripted(0, 800);
    const outcome = await retryRefusalsFor(300, start).result;
    expect(outcome.ok).toBe(true);
    expect(script.calls).toBe(1);
  });

  it('retries every other call as the SDK does, well past that budget', async () => {
    // The default policy waits about 0.17, 0.29, 0.49 and 0.84 s before the second to fifth attempts.
    scripted(4);
    const outcome = await start();
    expect(outcome.ok).toBe(true);
    expect(script.calls).toBe(5);
    expect(outcome.ms).toBeGreaterThan(1_000);
  });
});
