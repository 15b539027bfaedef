// GET /v1/ws end to end on real Temporal and PostgreSQL (and once on PGlite): a message frame's run streams
// back as events, a dropped client resumes from its last event id without loss or repeats, and the upgrade is
// refused without a valid API key.
import { readFile } from 'node:fs/promises';
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createApiKey } from '../api/admin-keys.js';
import { runEvents } from '../db/schema.js';
import { createTestCertificates } from './support/certificates.js';
import { eventually, startTestPlatform, type TestPlatform } from './support/platform.js';

interface EventFrame {
  id: number;
  workflowId: string;
  type: string;
  data: Record<string, unknown>;
  at: string;
}
interface ErrorFrame {
  type: 'error';
  error: { code: string; message: string };
  message_id?: string;
}
type Frame = EventFrame | ErrorFrame;

interface TestSocket {
  ws: WebSocket;
  frames: Frame[];
  send(frame: unknown): void;
  eventsOf(workflowId: string): EventFrame[];
  /** Waits until the run's reply arrived and returns the run's events. */
  untilReply(workflowId: string): Promise<EventFrame[]>;
  close(): Promise<void>;
}

let platform: TestPlatform;

beforeAll(async () => {
  platform = await startTestPlatform();
});
afterAll(async () => {
  await platform?.stop();
});

const unique = (prefix: string) => `${prefix}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
const wsUrl = (p: TestPlatform, query = '') => `${p.apiUrl.replace(/^http/, 'ws')}/v1/ws${query}`;

function open(url: string, options: { headers?: Record<string, string>; protocols?: string[]; ca?: Buffer } = {}) {
  return new Promise<TestSocket>((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers, ca: options.ca });
    const frames: Frame[] = [];
    ws.on('message', (data) => frames.push(JSON.parse(data.toString()) as Frame));
    ws.once('unexpected-response', (_request, response) =>
      reject(new Error(`upgrade answered ${response.statusCode}`)),
    );
    ws.once('error', reject);
    ws.once('open', () => {
      const eventsOf = (workflowId: string) =>
        frames.filter((frame): frame is EventFrame => 'id' in frame && frame.workflowId === workflowId);
      resolve({
        ws,
        frames,
        send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
        eventsOf,
        untilReply: (workflowId) =>
          eventually(
            async () =>
              eventsOf(workflowId).some((event) => event.type === 'reply') ? eventsOf(workflowId) : undefined,
            30_000,
            `the reply of ${workflowId}`,
          ),
        close: () =>
          new Promise<void>((done) => {
            if (ws.readyState === WebSocket.CLOSED) return done();
            ws.once('close', () => done());
            ws.close();
          }),
      });
    });
  });
}

/** Answers the HTTP status an upgrade attempt was refused with, or 101 when it was accepted. */
function upgradeStatus(url: string, options: { headers?: Record<string, string>; protocols?: string[] } = {}) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers });
    ws.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    ws.once('open', () => {
      ws.close();
      resolve({ status: 101, body: '' });
    });
    ws.once('error', (error) => {
      if (!/Unexpected server response/.test(error.message)) reject(error);
    });
  });
}

const auth = (p: TestPlatform) => ({ headers: { authorization: `Bearer ${p.adminKey}` } });

function messageFrame(messageId: string, text: string) {
  return { type: 'message', message_id: messageId, conversation_id: 'ws-conv', sender: { id: 'ws-user' }, text };
}

/** The run's events as recorded, for comparing what a client saw with what happened. */
async function recordedEventIds(p: TestPlatform, workflowId: string) {
  const rows = await p.database.db
    .select({ id: runEvents.id })
    .from(runEvents)
    .where(eq(runEvents.workflowId, workflowId))
    .orderBy(asc(runEvents.id));
  return rows.map((row) => row.id);
}

function expectStrictlyIncreasing(ids: number[]) {
  for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]!);
}

describe('GET /v1/ws', () => {
  it('streams a /echo run as accepted, step and reply events', async () => {
    const socket = await open(wsUrl(platform), auth(platform));
    try {
      const messageId = unique('echo');
      const workflowId = `message:ws:${messageId}`;
      socket.send(messageFrame(messageId, '/echo hi'));
      const events = await socket.untilReply(workflowId);

      expect(events[0]).toMatchObject({ type: 'accepted', workflowId, data: { messageId, channel: 'ws' } });
      const steps = events.filter((event) => event.type === 'step').map((event) => event.data.step);
      expect(steps).toEqual(expect.arrayContaining(['verify', 'parse']));
      const replies = events.filter((event) => event.type === 'reply');
      expect(replies).toHaveLength(1);
      expect(replies[0]!.data).toMatchObject({ text: 'hi' });
      expect(events.at(-1)!.type).toBe('reply');
      expectStrictlyIncreasing(events.map((event) => event.id));
      for (const event of events) expect(Date.parse(event.at)).not.toBeNaN();
      expect(events.map((event) => event.id)).toEqual(await recordedEventIds(platform, workflowId));
    } finally {
      await socket.close();
    }
  });

  it('answers bad frames with an error frame and keeps the connection open', async () => {
    const socket = await open(wsUrl(platform), auth(platform));
    try {
      socket.send('{"type":');
      // A frame without a sender is the caller's own (api/sender-identity.ts); a malformed sender is refused.
      socket.send({ type: 'message', message_id: 'bad-1', conversation_id: 'c', sender: 'nobody', text: 'bad sender' });
      socket.send({ type: 'shout', text: 'x' });
      const errors = await eventually(
        async () => {
          const found = socket.frames.filter((frame): frame is ErrorFrame => frame.type === 'error');
          return found.length >= 3 ? found : undefined;
        },
        10_000,
        'three error frames',
      );
      expect(errors[0]).toEqual({ type: 'error', error: { code: 'bad_request', message: 'frames are JSON objects' } });
      expect(errors[1]).toMatchObject({ error: { code: 'bad_request' }, message_id: 'bad-1' });
      expect(errors[1]!.error.message).toMatch(/^sender/);
      expect(errors[2]!.error.code).toBe('bad_request');

      const messageId = unique('after-errors');
      socket.send(messageFrame(messageId, '/echo still here'));
      const events = await socket.untilReply(`message:ws:${messageId}`);
      expect(events.find((event) => event.type === 'reply')!.data).toMatchObject({ text: 'still here' });
    } finally {
      await socket.close();
    }
  });

  it('replays after last_event_id on reconnect: nothing lost, nothing twice', async () => {
    const messageId = unique('resume');
    const workflowId = `message:ws:${messageId}`;
    const first = await open(wsUrl(platform), auth(platform));
    first.send(messageFrame(messageId, '/echo hi'));
    const [accepted] = await eventually(
      async () => (first.eventsOf(workflowId).length > 0 ? first.eventsOf(workflowId) : undefined),
      30_000,
      'the first event',
    );
    // Dropped without a close handshake, as a lost network would.
    first.ws.terminate();
    const seenBeforeDrop = first.eventsOf(workflowId);
    const lastSeen = seenBeforeDrop.at(-1)!.id;
    expect(accepted!.type).toBe('accepted');

    const second = await open(wsUrl(platform, `?last_event_id=${lastSeen}`), auth(platform));
    try {
      const afterReconnect = await second.untilReply(workflowId);
      const all = [...seenBeforeDrop, ...afterReconnect];
      const ids = all.map((event) => event.id);
      expectStrictlyIncreasing(ids);
      expect(all.filter((event) => event.type === 'reply')).toHaveLength(1);
      expect(all.find((event) => event.type === 'reply')!.data).toMatchObject({ text: 'hi' });
      expect(ids).toEqual(await recordedEventIds(platform, workflowId));
    } finally {
      await second.close();
    }
  });

  it('resumes the runs a resume frame names, from its last_event_id', async () => {
    const messageId = unique('resume-frame');
    const workflowId = `message:ws:${messageId}`;
    const first = await open(wsUrl(platform), auth(platform));
    first.send(messageFrame(messageId, '/echo hi again'));
    const all = await first.untilReply(workflowId);
    await first.close();
    const cut = all[1]!.id;

    // The key as a query parameter this time, as a browser without header access would send it.
    const second = await open(wsUrl(platform, `?token=${encodeURIComponent(platform.adminKey)}`));
    try {
      second.send({ type: 'resume', workflow_ids: [workflowId], last_event_id: cut });
      const replayed = await second.untilReply(workflowId);
      expect(replayed.map((event) => event.id)).toEqual(all.filter((event) => event.id > cut).map((event) => event.id));
      expect(replayed.filter((event) => event.type === 'reply')).toHaveLength(1);
    } finally {
      await second.close();
    }
  });

  it('takes the key as the bearer subprotocol and answers with that subprotocol', async () => {
    const socket = await open(wsUrl(platform), { protocols: ['bearer', platform.adminKey] });
    try {
      expect(socket.ws.protocol).toBe('bearer');
      const messageId = unique('subprotocol');
      socket.send(messageFrame(messageId, '/echo via subprotocol'));
      const events = await socket.untilReply(`message:ws:${messageId}`);
      expect(events.at(-1)!.data).toMatchObject({ text: 'via subprotocol' });
    } finally {
      await socket.close();
    }
  });

  it('refuses an upgrade without a valid API key with 401', async () => {
    const missing = await upgradeStatus(wsUrl(platform));
    expect(missing.status).toBe(401);
    expect(JSON.parse(missing.body)).toEqual({ error: { code: 'unauthorized', message: 'missing bearer token' } });
    expect((await upgradeStatus(wsUrl(platform), { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    expect((await upgradeStatus(wsUrl(platform, '?token=nope'))).status).toBe(401);
    expect((await upgradeStatus(wsUrl(platform), { protocols: ['bearer', 'nope'] })).status).toBe(401);
    const elsewhere = await upgradeStatus(`${platform.apiUrl.replace(/^http/, 'ws')}/v1/other`, auth(platform));
    expect(elsewhere.status).toBe(404);
  });
});

describe('GET /v1/ws guards', () => {
  it('lets a viewer key watch but answers its message frames with a forbidden error frame', async () => {
    const viewer = await createApiKey(platform.database.db, unique('viewer'), 'viewer');
    const socket = await open(wsUrl(platform), { headers: { authorization: `Bearer ${viewer.key}` } });
    try {
      const messageId = unique('viewer-msg');
      socket.send(messageFrame(messageId, '/echo not allowed'));
      const [refusal] = await eventually(
        async () => {
          const errors = socket.frames.filter((frame): frame is ErrorFrame => frame.type === 'error');
          return errors.length > 0 ? errors : undefined;
        },
        10_000,
        'an error frame',
      );
      expect(refusal).toEqual({
        type: 'error',
        error: { code: 'forbidden', message: 'role viewer lacks the messages:send permission' },
        message_id: messageId,
      });
      expect(await recordedEventIds(platform, `message:ws:${messageId}`)).toEqual([]);
    } finally {
      await socket.close();
    }
  });

  it('serves wss:// on the HTTPS listener when TLS is configured', async () => {
    const certs = await createTestCertificates();
    const secure = await startTestPlatform(
      { TLS_CERT_FILE: certs.serverCert, TLS_KEY_FILE: certs.serverKey },
      { worker: false },
    );
    try {
      expect(secure.apiUrl).toMatch(/^https:/);
      const socket = await open(wsUrl(secure), { ...auth(secure), ca: await readFile(certs.caCert) });
      try {
        const messageId = unique('wss');
        socket.send(messageFrame(messageId, '/echo over tls'));
        // No worker here: the accepted event, recorded as the run starts, is what arrives.
        const [accepted] = await eventually(
          async () => {
            const events = socket.eventsOf(`message:ws:${messageId}`);
            return events.length > 0 ? events : undefined;
          },
          10_000,
          'the accepted event',
        );
        expect(accepted).toMatchObject({ type: 'accepted', data: { messageId } });
      } finally {
        await socket.close();
      }
    } finally {
      await secure.stop();
      await certs.remove();
    }
  });
});

describe('GET /v1/ws on PGlite', () => {
  it('streams a /echo run to its reply from the embedded database', async () => {
    const local = await startTestPlatform({}, { database: 'pglite', storage: 'filesystem' });
    try {
      const socket = await open(wsUrl(local), auth(local));
      try {
        const messageId = unique('pglite');
        const workflowId = `message:ws:${messageId}`;
        socket.send(messageFrame(messageId, '/echo hi'));
        const events = await socket.untilReply(workflowId);
        expect(events[0]!.type).toBe('accepted');
        expect(events.at(-1)!.data).toMatchObject({ text: 'hi' });
        expect(events.map((event) => event.id)).toEqual(await recordedEventIds(local, workflowId));
      } finally {
        await socket.close();
      }
    } finally {
      await local.stop();
    }
  });
});
