// Hostile callers against a real API: guessing keys on the codec endpoints ends in 429s as on /v1, and no door
// reads an oversized body. HTTP routes answer 413 before the body has been sent, a WebSocket frame over the
// limit closes the connection (1009), a gRPC message over it is refused with RESOURCE_EXHAUSTED.
import { request } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PROTO_LOADER_OPTIONS, PROTO_PATH } from '../api/grpc/server.js';
import { MAX_API_BODY_BYTES } from '../api/middleware/body-limit.js';
import { MAX_CODEC_BODY_BYTES } from '../api/routes/codec.js';
import { freePort } from '../platform/free-port.js';
import { startTestPlatform, type TestPlatform } from './support/platform.js';

let platform: TestPlatform;

beforeAll(async () => {
  platform = await startTestPlatform({ GRPC_PORT: String(await freePort()) }, { worker: false });
});
afterAll(async () => {
  await platform?.stop();
});

describe('rate limits on /codec', () => {
  it('2,000 wrong-key requests to /codec/decode end in 429s with Retry-After, like wrong-key requests to /v1', async () => {
    // Defaults (1,200 requests a minute per address): the same settings as /v1.
    const limited = await startTestPlatform({}, { worker: false });
    try {
      const statuses = new Map<number, number>();
      let retryAfter: string | null = null;
      let next = 0;
      const started = performance.now();
      const worker = async () => {
        while (next < 2000) {
          next += 1;
          const response = await fetch(`${limited.apiUrl}/codec/decode`, {
            method: 'POST',
            headers: { authorization: 'Bearer cdt_wrong-key-guess', 'content-type': 'application/json' },
            body: '{"payloads":[]}',
          });
          await response.arrayBuffer();
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          if (response.status === 429) retryAfter = response.headers.get('retry-after');
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      // The bucket holds 1,200 and refills at 20 a second: on a slow machine the guesses take longer, and the
      // refill lets that many more through. Anything beyond is a limit that does not hold.
      const refilled = Math.ceil(((performance.now() - started) / 1000) * 20);
      expect(statuses.get(401) ?? 0).toBeGreaterThan(0);
      expect(statuses.get(401) ?? 0).toBeLessThanOrEqual(1200 + refilled);
      expect(statuses.get(429) ?? 0).toBeGreaterThan(0);
      expect((statuses.get(401) ?? 0) + (statuses.get(429) ?? 0)).toBe(2000);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    } finally {
      await limited.stop();
    }
  });

  it('limits a valid credential on /codec per key, as on /v1', async () => {
    const limited = await startTestPlatform(
      { API_RATE_LIMIT_PER_KEY_PER_MINUTE: '3', API_RATE_LIMIT_PER_IP_PER_MINUTE: '100' },
      { worker: false },
    );
    try {
      const decode = () => limited.api('/codec/decode', { method: 'POST', body: '{"payloads":[]}' });
      for (let i = 0; i < 3; i += 1) expect((await decode()).status).toBe(200);
      const over = await decode();
      expect(over.status).toBe(429);
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(((await over.json()) as { error: { message: string } }).error.message).toContain('for this credential');
    } finally {
      await limited.stop();
    }
  });
});

/**
 * Streams `totalBytes` of body (chunked, in 64 KiB pieces, yielding between them) and reports the status and how
 * much had been written when the answer came: a server that buffers first answers only after the last byte.
 */
function streamBody(path: string, totalBytes: number, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: string; sentWhenAnswered: number }>((resolve, reject) => {
    const url = new URL(path, platform.apiUrl);
    let sent = 0;
    let answered = false;
    const req = request(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${platform.adminKey}`, 'content-type': 'application/json', ...headers },
    });
    req.on('response', (response) => {
      answered = true;
      const sentWhenAnswered = sent;
      let body = '';
      response.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      response.on('end', () => {
        req.destroy();
        resolve({ status: response.statusCode ?? 0, body, sentWhenAnswered });
      });
    });
    // Writing into a socket the server closed after answering: the answer is what counts.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const pump = () => {
      if (answered || req.destroyed) return;
      if (sent >= totalBytes) return void req.end();
      sent += chunk.length;
      // Waiting for each piece to be flushed (and a tick) lets the server answer in between.
      req.write(sent === chunk.length ? Buffer.concat([Buffer.from('{"text":"'), chunk]) : chunk, () =>
        setTimeout(pump, 2),
      );
    };
    pump();
  });
}

describe('body limits', () => {
  const total = 6 * 1024 * 1024;

  it.each([
    ['/v1/messages', MAX_API_BODY_BYTES],
    ['/v1/schedules', MAX_API_BODY_BYTES],
    ['/v1/runs/message:api:none/approve', MAX_API_BODY_BYTES],
    ['/v1/keys', MAX_API_BODY_BYTES],
  ])('POST %s answers 413 for a streamed body before it has all been sent', async (path, limit) => {
    const answer = await streamBody(path, total);
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'payload_too_large' } });
    expect(answer.sentWhenAnswered).toBeLessThan(total);
    expect(answer.sentWhenAnswered).toBeLessThan(limit + 1024 * 1024);
  });

  it('POST /v1/messages answers 413 at once for a declared Content-Length over the limit', async () => {
    const answer = await streamBody('/v1/messages', 2 * 1024 * 1024, {
      'content-length': String(2 * 1024 * 1024 + 9),
    });
    expect(answer.status).toBe(413);
    expect(answer.sentWhenAnswered).toBeLessThan(2 * 1024 * 1024);
  });

  it('POST /codec/decode takes a batch up to its own limit and refuses more before reading it', async () => {
    const payload = { metadata: { encoding: Buffer.from('binary/plain').toString('base64') }, data: 'A'.repeat(4096) };
    const small = await platform.api('/codec/decode', {
      method: 'POST',
      body: JSON.stringify({ payloads: Array.from({ length: 400 }, () => payload) }),
    });
    expect(small.status).toBe(200);
    const answer = await streamBody('/codec/decode', MAX_CODEC_BODY_BYTES + 4 * 1024 * 1024);
    expect(answer.status).toBe(413);
    expect(answer.sentWhenAnswered).toBeLessThan(MAX_CODEC_BODY_BYTES + 4 * 1024 * 1024);
  });

  it('a message under the limit is still taken', async () => {
    const response = await platform.api('/v1/messages', {
      method: 'POST',
      body: JSON.stringify({ conversation_id: 'limits', sender: { id: 'u-limits' }, text: 'x'.repeat(30_000) }),
    });
    expect(response.status).toBe(202);
  });

  it('a WebSocket frame over the limit closes the connection with 1009, before a run starts', async () => {
    const ws = new WebSocket(`${platform.apiUrl.replace(/^http/, 'ws')}/v1/ws`, {
      headers: { authorization: `Bearer ${platform.adminKey}` },
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.on('error', () => undefined);
    ws.send(
      JSON.stringify({
        type: 'message',
        conversation_id: 'limits',
        sender: { id: 'u-limits' },
        text: 'x'.repeat(2 * MAX_API_BODY_BYTES),
      }),
    );
    expect(await closed).toBe(1009);
  });

  it('a gRPC SendMessage over the limit is refused with RESOURCE_EXHAUSTED', async () => {
    const definition = protoLoader.loadSync(PROTO_PATH, PROTO_LOADER_OPTIONS);
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      conduit: { v1: { Conduit: grpc.ServiceClientConstructor } };
    };
    const client = new loaded.conduit.v1.Conduit(
      platform.grpcAddress!,
      grpc.credentials.createInsecure(),
    ) as unknown as grpc.Client & {
      SendMessage(
        request: object,
        metadata: grpc.Metadata,
        callback: (error: grpc.ServiceError | null) => void,
      ): grpc.ClientUnaryCall;
    };
    try {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${platform.adminKey}`);
      const error = await new Promise<grpc.ServiceError | null>((resolve) =>
        client.SendMessage(
          { conversation_id: 'limits', sender: { id: 'u-limits' }, text: 'x'.repeat(2 * MAX_API_BODY_BYTES) },
          metadata,
          resolve,
        ),
      );
      expect(error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    } finally {
      client.close();
    }
  });
});
