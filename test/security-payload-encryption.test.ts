// Payload encryption end to end on the real Temporal dev server: what Temporal stores is ciphertext, the
// API still answers in plaintext, the codec endpoints serve the Temporal UI (CORS, auth, roles), and a
// rotated key set still reads runs sealed with the old key.
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../api/admin-keys.js';
import { parseKeyList } from '../security/key-list.js';
import { startTestPlatform, type TestPlatform } from './support/platform.js';

let platform: TestPlatform;
let viewerKey: string;
const secret = `classified-${randomBytes(6).toString('hex')}`;
let workflowId: string;

beforeAll(async () => {
  platform = await startTestPlatform();
  viewerKey = (await createApiKey(platform.database.db, 'codec-viewer', 'viewer')).key;
  const response = await platform.api('/v1/messages?wait=30', {
    method: 'POST',
    body: JSON.stringify({ conversation_id: 'enc', sender: { id: 'u-enc' }, text: `/echo ${secret}` }),
  });
  const body = (await response.json()) as { workflowId: string; result?: { reply?: string } };
  expect(body.result?.reply).toBe(secret);
  workflowId = body.workflowId;
});
afterAll(async () => {
  await platform?.stop();
});

/** A Client on the same connection but without the codec: it sees exactly what Temporal stores. */
async function storedHistory(id: string) {
  const raw = new Client({ connection: platform.temporal.connection, namespace: platform.config.temporal.namespace });
  const history = await raw.workflow.getHandle(id).fetchHistory();
  return { history, bytes: Buffer.from(proto.temporal.api.history.v1.History.encode(history).finish()) };
}

/** `key: null` sends no Authorization header. */
const codec = (path: string, body: unknown, key: string | null = platform.adminKey, origin?: string) =>
  fetch(`${platform.apiUrl}/codec/${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(origin ? { origin } : {}),
    },
    body: JSON.stringify(body),
  });

const b64 = (text: string) => Buffer.from(text).toString('base64');
const unb64 = (text: string) => Buffer.from(text, 'base64').toString();

describe('payload encryption', () => {
  it('generates the key file once under the data directory, readable by the owner only', async () => {
    const path = join(platform.config.dataDir, 'keys', 'payload-keys');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(parseKeyList(await readFile(path, 'utf8'))).toHaveLength(1);
  });

  it('stores no plaintext of the message in the run history, while the API answers in plaintext', async () => {
    const { history, bytes } = await storedHistory(workflowId);
    // The search can find what is stored in clear: workflow type and the encryption markers.
    expect(bytes.includes('handleMessage')).toBe(true);
    expect(bytes.includes('binary/encrypted')).toBe(true);
    expect(bytes.includes(secret)).toBe(false);
    // Inputs and results are sealed; only SDK bookkeeping (local-activity markers: seq, attempt, times) is plain.
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    expect(Buffer.from(started!.input!.payloads![0]!.metadata!.encoding!).toString()).toBe('binary/encrypted');

    const response = await platform.api(`/v1/runs/${encodeURIComponent(workflowId)}`);
    expect(response.status).toBe(200);
    const run = (await response.json()) as { state: string; status: { reply: string } };
    expect(run.state).toBe('COMPLETED');
    expect(run.status.reply).toBe(secret);
  });

  it('decodes the stored input through the codec endpoint for an authorized caller', async () => {
    const { history } = await storedHistory(workflowId);
    const input = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    const stored = {
      metadata: Object.fromEntries(
        Object.entries(input.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
      ),
      data: Buffer.from(input.data!).toString('base64'),
    };
    const response = await codec('decode', { payloads: [stored] }, viewerKey);
    expect(response.status).toBe(200);
    const { payloads } = (await response.json()) as {
      payloads: Array<{ metadata: Record<string, string>; data: string }>;
    };
    expect(unb64(payloads[0]!.metadata.encoding!)).toBe('json/plain');
    expect(unb64(payloads[0]!.data)).toContain(secret);
  });

  it('round-trips a payload through /codec/encode and /codec/decode', async () => {
    const original = { metadata: { encoding: b64('json/plain') }, data: b64(JSON.stringify({ hello: secret })) };
    const encoded = await codec('encode', { payloads: [original] });
    expect(encoded.status).toBe(200);
    const sealed = ((await encoded.json()) as { payloads: Array<{ metadata: Record<string, string>; data: string }> })
      .payloads[0]!;
    expect(unb64(sealed.metadata.encoding!)).toBe('binary/encrypted');
    expect(sealed.metadata['encryption-key-id']).toBeDefined();
    expect(Buffer.from(sealed.data, 'base64').includes(secret)).toBe(false);
    const decoded = await codec('decode', { payloads: [sealed] });
    expect(await decoded.json()).toEqual({ payloads: [original] });
  });

  it('refuses the codec endpoints without credentials, and encode to a viewer', async () => {
    const payloads = { payloads: [{ metadata: { encoding: b64('json/plain') }, data: b64('1') }] };
    const anonymous = await codec('decode', payloads, null);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ error: { code: 'unauthorized', message: 'missing bearer token' } });
    expect((await codec('decode', payloads, 'cdt_not-a-key')).status).toBe(401);
    const viewerEncode = await codec('encode', payloads, viewerKey);
    expect(viewerEncode.status).toBe(403);
    expect(await viewerEncode.json()).toMatchObject({ error: { code: 'forbidden' } });
  });

  it('reads protobuf JSON with empty fields left out, as the Temporal CLI sends it', async () => {
    for (const path of ['encode', 'decode']) {
      const empty = await codec(path, {});
      expect(empty.status).toBe(200);
      expect(await empty.json()).toEqual({ payloads: [] });
    }
    const bare = await codec('encode', { payloads: [{}] });
    expect(bare.status).toBe(200);
    const sealed = ((await bare.json()) as { payloads: Array<{ metadata: Record<string, string>; data: string }> })
      .payloads[0]!;
    expect(await (await codec('decode', { payloads: [sealed] })).json()).toEqual({
      payloads: [{ metadata: {}, data: '' }],
    });
  });

  it('answers bad codec input with 400, not a crash', async () => {
    const garbage = await codec('decode', {
      payloads: [{ metadata: { encoding: b64('binary/encrypted') }, data: 'AAAA' }],
    });
    expect(garbage.status).toBe(400);
    expect(((await garbage.json()) as { error: { code: string } }).error.code).toBe('bad_request');
    expect((await codec('decode', { nope: true })).status).toBe(400);
  });

  it('lets the Temporal UI origin call the codec from the browser, and no other origin', async () => {
    const uiOrigin = platform.config.security.temporalUiOrigins[0]!;
    const preflight = (origin: string) =>
      fetch(`${platform.apiUrl}/codec/decode`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type,x-namespace',
        },
      });
    const allowed = await preflight(uiOrigin);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(uiOrigin);
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    expect(allowed.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    const other = await preflight('http://evil.example.com');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();

    const actual = await codec('decode', { payloads: [] }, platform.adminKey, uiOrigin);
    expect(actual.status).toBe(200);
    expect(actual.headers.get('access-control-allow-origin')).toBe(uiOrigin);
    // With an external cluster (TEMPORAL_ADDRESS) there is no embedded UI to trust: the origin alone is nothing.
    expect((await codec('decode', { payloads: [] }, null, uiOrigin)).status).toBe(401);
  });
});

describe('payload key rotation', () => {
  it('reads runs sealed with the old key after a new key is put first', async () => {
    const oldKeys = await readFile(join(platform.config.dataDir, 'keys', 'payload-keys'), 'utf8');
    const oldKey = parseKeyList(oldKeys)[0]!;
    const rotated = await startTestPlatform(
      {
        CONDUIT_PAYLOAD_KEYS: `rotated-1:${randomBytes(32).toString('base64')},${oldKey.id}:${oldKey.key.toString('base64')}`,
      },
      { worker: false },
    );
    try {
      const response = await rotated.api(`/v1/runs/${encodeURIComponent(workflowId)}`);
      expect(response.status).toBe(200);
      expect(((await response.json()) as { status: { reply: string } }).status.reply).toBe(secret);
      const encoded = await fetch(`${rotated.apiUrl}/codec/encode`, {
        method: 'POST',
        headers: { authorization: `Bearer ${rotated.adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ payloads: [{ metadata: { encoding: b64('json/plain') }, data: b64('"x"') }] }),
      });
      const sealed = ((await encoded.json()) as { payloads: Array<{ metadata: Record<string, string> }> }).payloads[0]!;
      expect(unb64(sealed.metadata['encryption-key-id']!)).toBe('rotated-1');
    } finally {
      await rotated.stop();
    }
  });
});
