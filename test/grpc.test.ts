// The gRPC hub end to end on real Temporal and PostgreSQL, with a @grpc/grpc-js client built from
// grpc/conduit.proto: SendMessage then WatchRun to the reply, resuming after an event id, and the API key check.
import { readFile } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../api/admin-keys.js';
import { PROTO_LOADER_OPTIONS, PROTO_PATH } from '../api/grpc/server.js';
import { freePort } from '../platform/free-port.js';
import { createTestCertificates } from './support/certificates.js';
import { startTestPlatform, type TestPlatform } from './support/platform.js';

interface SendMessageRequest {
  message_id?: string;
  conversation_id?: string;
  conversation_type?: string;
  sender?: { id: string; name?: string };
  text?: string;
}
interface SendMessageResponse {
  workflow_id: string;
  run_id: string;
  duplicate: boolean;
}
interface RunEvent {
  id: string;
  workflow_id: string;
  type: string;
  data_json: string;
  at: string;
}
interface ConduitClient extends grpc.Client {
  SendMessage(
    request: SendMessageRequest,
    metadata: grpc.Metadata,
    callback: (error: grpc.ServiceError | null, response?: SendMessageResponse) => void,
  ): grpc.ClientUnaryCall;
  WatchRun(
    request: { workflow_id: string; after_event_id?: string },
    metadata: grpc.Metadata,
  ): grpc.ClientReadableStream<RunEvent>;
}

let platform: TestPlatform;
let client: ConduitClient;

/** A client of conduit.v1.Conduit built from the proto file, as any @grpc/grpc-js user would. */
function conduitClient(address: string, credentials = grpc.credentials.createInsecure()): ConduitClient {
  const definition = protoLoader.loadSync(PROTO_PATH, PROTO_LOADER_OPTIONS);
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    conduit: { v1: { Conduit: grpc.ServiceClientConstructor } };
  };
  return new loaded.conduit.v1.Conduit(address, credentials) as unknown as ConduitClient;
}

beforeAll(async () => {
  platform = await startTestPlatform({ GRPC_PORT: String(await freePort()) });
  client = conduitClient(platform.grpcAddress!);
});
afterAll(async () => {
  client?.close();
  await platform?.stop();
});

const unique = (prefix: string) => `${prefix}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;

function withKey(key: string | null) {
  const metadata = new grpc.Metadata();
  if (key !== null) metadata.set('authorization', `Bearer ${key}`);
  return metadata;
}

function sendMessage(request: SendMessageRequest, key: string | null = platform.adminKey, via = client) {
  return new Promise<SendMessageResponse>((resolve, reject) =>
    via.SendMessage(request, withKey(key), (error, response) => (error ? reject(error) : resolve(response!))),
  );
}

/** Collects a WatchRun stream until the server ends it (or fails it), with a deadline. */
function watchRun(workflowId: string, afterEventId = '0', key: string | null = platform.adminKey) {
  return new Promise<RunEvent[]>((resolve, reject) => {
    const events: RunEvent[] = [];
    const stream = client.WatchRun({ workflow_id: workflowId, after_event_id: afterEventId }, withKey(key));
    const deadline = setTimeout(() => {
      stream.cancel();
      reject(new Error(`WatchRun ${workflowId} did not end in time; got ${events.map((e) => e.type).join(', ')}`));
    }, 30_000);
    stream.on('data', (event: RunEvent) => events.push(event));
    stream.on('error', (error) => {
      clearTimeout(deadline);
      reject(error);
    });
    stream.on('end', () => {
      clearTimeout(deadline);
      resolve(events);
    });
  });
}

const echo = (messageId: string, text = '/echo hi'): SendMessageRequest => ({
  message_id: messageId,
  conversation_id: 'grpc-conv',
  sender: { id: 'grpc-user', name: 'Gina' },
  text,
});

describe('gRPC conduit.v1.Conduit', () => {
  it('carries a /echo from SendMessage through WatchRun to its reply', async () => {
    const messageId = unique('echo');
    const sent = await sendMessage(echo(messageId));
    expect(sent).toMatchObject({ workflow_id: `message:grpc:${messageId}`, duplicate: false });
    expect(sent.run_id).not.toBe('');

    const events = await watchRun(sent.workflow_id);
    expect(events[0]).toMatchObject({ type: 'accepted', workflow_id: sent.workflow_id });
    expect(events.filter((event) => event.type === 'step').map((event) => JSON.parse(event.data_json).step)).toEqual(
      expect.arrayContaining(['verify', 'parse']),
    );
    const replies = events.filter((event) => event.type === 'reply');
    expect(replies).toHaveLength(1);
    expect(JSON.parse(replies[0]!.data_json)).toMatchObject({ text: 'hi' });
    expect(events.at(-1)!.type).toBe('reply');
    const ids = events.map((event) => Number(event.id));
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]!);

    const again = await sendMessage(echo(messageId));
    expect(again).toEqual({ workflow_id: sent.workflow_id, run_id: sent.run_id, duplicate: true });
  });

  it('resumes WatchRun after a given event id with nothing lost and nothing repeated', async () => {
    const sent = await sendMessage(echo(unique('resume'), '/echo resumed'));
    const all = await watchRun(sent.workflow_id);
    const cut = all[1]!.id;
    const rest = await watchRun(sent.workflow_id, cut);
    expect(rest.map((event) => event.id)).toEqual(all.slice(2).map((event) => event.id));
    expect(rest.filter((event) => event.type === 'reply')).toHaveLength(1);
  });

  it('refuses calls without a valid API key as UNAUTHENTICATED', async () => {
    await expect(sendMessage(echo(unique('nokey')), null)).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
      details: 'missing bearer token',
    });
    await expect(sendMessage(echo(unique('badkey')), 'nope')).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
      details: 'invalid or revoked API key',
    });
    await expect(watchRun('message:grpc:anything', '0', 'nope')).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
    });
  });

  it('refuses SendMessage to a key whose role may only read, as PERMISSION_DENIED', async () => {
    const viewer = await createApiKey(platform.database.db, unique('viewer'), 'viewer');
    await expect(sendMessage(echo(unique('viewer')), viewer.key)).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
      details: 'role viewer lacks the messages:send permission',
    });
  });

  it('rejects an invalid message as INVALID_ARGUMENT naming the field, and an unknown run as NOT_FOUND', async () => {
    // A request without a sender is the caller's own (api/sender-identity.ts); a malformed sender id is refused.
    await expect(
      sendMessage({ conversation_id: 'c', sender: { id: 'not an id!' }, text: 'bad sender' }),
    ).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/^sender/),
    });
    await expect(watchRun(`message:grpc:${unique('never-sent')}`)).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
  });
});

describe('gRPC over TLS', () => {
  it('serves TLS with the API certificate when TLS_CERT_FILE is set, and refuses plaintext', async () => {
    const certs = await createTestCertificates();
    const secure = await startTestPlatform(
      { GRPC_PORT: String(await freePort()), TLS_CERT_FILE: certs.serverCert, TLS_KEY_FILE: certs.serverKey },
      { worker: false },
    );
    const tlsClient = conduitClient(secure.grpcAddress!, grpc.credentials.createSsl(await readFile(certs.caCert)));
    const plainClient = conduitClient(secure.grpcAddress!);
    try {
      const sent = await sendMessage(echo(unique('tls')), secure.adminKey, tlsClient);
      expect(sent).toMatchObject({ duplicate: false, workflow_id: expect.stringMatching(/^message:grpc:tls-/) });
      await expect(sendMessage(echo(unique('plain')), secure.adminKey, plainClient)).rejects.toMatchObject({
        code: grpc.status.UNAVAILABLE,
      });
    } finally {
      tlsClient.close();
      plainClient.close();
      await secure.stop();
      await certs.remove();
    }
  });
});
