// Streaming clients that drop, crowd in and stop reading (issue 14, case 7), as real clients would: the `ws` package
// and @grpc/grpc-js against a running platform on real Temporal and PostgreSQL, with the scripted model holding its
// calls open so a client can be dropped while a run is working, parked or finished. Every resume must yield exactly
// the events the client missed, in order, none twice.
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApiKey } from '../api/admin-keys.js';
import { PROTO_LOADER_OPTIONS, PROTO_PATH } from '../api/grpc/server.js';
import { runEvents } from '../db/schema.js';
import { freePort } from '../platform/free-port.js';
import type { RunStatus } from '../runs/contract.js';
import type { ToolDefinition } from '../tools/types.js';
import { type FakeLlm, type FakeLlmReply, startFakeLlm } from './fakes/openai-compatible.js';
import { eventually, startTestPlatform, type TestPlatform } from './support/platform.js';
import { type EventFrame, lastEventId as lastId, openRunEventSocket } from './support/run-event-socket.js';
import { metricValue } from './support/runs.js';

interface GrpcRunEvent {
  id: string;
  workflow_id: string;
  type: string;
  data_json: string;
}
interface ConduitClient extends grpc.Client {
  WatchRun(
    request: { workflow_id: string; after_event_id?: string },
    metadata: grpc.Metadata,
  ): grpc.ClientReadableStream<GrpcRunEvent>;
}

let platform: TestPlatform;
let llm: FakeLlm;
let grpcClient: ConduitClient;

/** A sensitive tool, so a run parks until someone approves it. */
const payTool: ToolDefinition<{ to: string }> = {
  name: 'pay',
  description: 'Pay someone',
  parameters: { type: 'object', properties: { to: { type: 'string' } }, required: ['to'] },
  inputSchema: z.object({ to: z.string() }),
  sensitive: true,
  timeoutMs: 5_000,
  async run(input) {
    return { ok: true, paid: input.to };
  },
};

beforeAll(async () => {
  llm = await startFakeLlm();
  platform = await startTestPlatform(
    {
      GRPC_PORT: String(await freePort()),
      LLM_BASE_URL: llm.baseUrl,
      LLM_MODEL: 'fake-model',
      LLM_TIMEOUT_MS: '30000',
      LLM_CACHE_TTL_SECONDS: '0',
      PIPELINE_PROGRESS_DELAY_MS: '2000',
    },
    { tools: [payTool as ToolDefinition] },
  );
  const definition = protoLoader.loadSync(PROTO_PATH, PROTO_LOADER_OPTIONS);
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    conduit: { v1: { Conduit: grpc.ServiceClientConstructor } };
  };
  grpcClient = new loaded.conduit.v1.Conduit(
    platform.grpcAddress!,
    grpc.credentials.createInsecure(),
  ) as unknown as ConduitClient;
});
afterAll(async () => {
  grpcClient?.close();
  await platform?.stop();
  await llm?.close();
});

const unique = (prefix: string) => `${prefix}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
const intent = { json: { intent: 'task', confidence: 0.9, reason: 'scripted' } };

/** How long a held model call keeps working after a client reconnected (the server sets its resume up meanwhile). */
const MODEL_ANSWERS_AFTER_MS = 300;

/** A model answer that waits for `release()`: the run is working (an activity in flight) until then. */
function heldReply(reply: FakeLlmReply) {
  let release!: () => void;
  const until = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { reply: { ...reply, until }, release };
}

/** A fresh API key per test, so "the runs this key was following" holds only the test's own runs. */
async function memberKey() {
  return (await createApiKey(platform.database.db, unique('stream'), 'admin')).key;
}

const connect = (key: string, query = '') => openRunEventSocket(platform.apiUrl, key, query);

function messageFrame(messageId: string, text: string) {
  return { type: 'message', message_id: messageId, conversation_id: unique('conv'), sender: { id: 'u' }, text };
}

async function recordedIds(workflowId: string) {
  const rows = await platform.database.db
    .select({ id: runEvents.id })
    .from(runEvents)
    .where(eq(runEvents.workflowId, workflowId))
    .orderBy(asc(runEvents.id));
  return rows.map((row) => row.id);
}

const until = <T>(probe: () => T | undefined, what: string, timeoutMs = 20_000) =>
  eventually(async () => probe(), timeoutMs, what);

const withKey = (key: string) => {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${key}`);
  return metadata;
};

async function runResult(workflowId: string): Promise<RunStatus> {
  return (await platform.temporal.workflow.getHandle(workflowId).result()) as RunStatus;
}

/** What a client saw over all its connections is the run's log exactly: in order, nothing lost, nothing twice. */
async function expectWholeRun(seen: Array<{ id: number }>, workflowId: string) {
  expect(seen.map((event) => event.id)).toEqual(await recordedIds(workflowId));
}

describe('a WebSocket client that drops and resumes', () => {
  it('gets the rest of a run still waiting on the model when it reconnects with ?last_event_id', async () => {
    const key = await memberKey();
    const plan = heldReply({ text: 'forty-two' });
    llm.script(intent, plan.reply);
    const messageId = unique('working');
    const workflowId = `message:ws:${messageId}`;
    const requestsBefore = llm.requests.length;

    const first = await connect(key);
    first.send(messageFrame(messageId, `what is the answer? ${messageId}`));
    await until(() => first.events.find((event) => event.type === 'intent'), 'the intent event');
    await until(() => (llm.requests.length >= requestsBefore + 2 ? true : undefined), 'the plan call to start');
    first.ws.terminate();
    const beforeDrop = first.events.filter((event) => event.workflowId === workflowId);

    const second = await connect(key, `?last_event_id=${lastId(beforeDrop)}`);
    try {
      // The run is working and records nothing new until its progress notice: the resumed client must be following
      // it by then, and still be following it when the model answers.
      await until(() => second.events.find((event) => event.type === 'progress'), 'the progress notice', 10_000);
      plan.release();
      await until(() => second.events.find((event) => event.type === 'reply'), 'the reply', 15_000);
      expect(second.events.find((event) => event.type === 'reply')!.data).toMatchObject({ text: 'forty-two' });
      await expectWholeRun([...beforeDrop, ...second.events], workflowId);
    } finally {
      plan.release();
      second.ws.terminate();
    }
  });

  it('gets the rest of a parked run from a resume frame without workflow_ids, once it is approved', async () => {
    const key = await memberKey();
    llm.script(intent, { toolCalls: [{ id: 'p1', name: 'pay', arguments: { to: 'ACME' } }] });
    const messageId = unique('parked');
    const workflowId = `message:ws:${messageId}`;
    const first = await connect(key);
    first.send(messageFrame(messageId, `pay ACME ${messageId}`));
    await eventually(
      async () =>
        (await platform.temporal.workflow.getHandle(workflowId).query<RunStatus>('status')).pendingApproval?.jobId,
      20_000,
      'the run to park on its approval',
    );
    // Dropped once it has seen everything recorded so far: nothing new happens until someone decides.
    await eventually(
      async () => (lastId(first.events) === (await recordedIds(workflowId)).at(-1) ? true : undefined),
      10_000,
      'the events before parking',
    );
    first.ws.terminate();
    const beforeDrop = [...first.events];

    const second = await connect(key);
    try {
      second.send({ type: 'resume', last_event_id: lastId(beforeDrop) });
      // Parked with no new event: nothing arrives until someone decides, and then everything does.
      llm.script({ text: 'Paid ACME.' });
      const approve = await fetch(`${platform.apiUrl}/v1/runs/${encodeURIComponent(workflowId)}/approve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${platform.adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'ok' }),
      });
      expect(approve.status).toBe(202);
      await until(() => second.events.find((event) => event.type === 'reply'), 'the reply after approval');
      expect(second.events.find((event) => event.type === 'tool')!.data).toMatchObject({ tool: 'pay', ok: true });
      await expectWholeRun([...beforeDrop, ...second.events], workflowId);
    } finally {
      second.ws.terminate();
    }
  });

  it('gets the rest of a run that finished while it was away, from a resume frame without workflow_ids', async () => {
    const key = await memberKey();
    const plan = heldReply({ text: 'done while away' });
    llm.script(intent, plan.reply);
    const messageId = unique('finished');
    const workflowId = `message:ws:${messageId}`;
    const first = await connect(key);
    first.send(messageFrame(messageId, `finish without me ${messageId}`));
    await until(() => first.events.find((event) => event.type === 'intent'), 'the intent event');
    first.ws.terminate();
    const beforeDrop = [...first.events];
    plan.release();
    expect((await runResult(workflowId)).reply).toBe('done while away');

    const second = await connect(key);
    try {
      second.send({ type: 'resume', last_event_id: lastId(beforeDrop) });
      await until(() => second.events.find((event) => event.type === 'reply'), 'the replayed reply');
      await expectWholeRun([...beforeDrop, ...second.events], workflowId);
    } finally {
      second.ws.terminate();
    }
  });

  it('misses nothing when dropped after every event of a run with a tool call', async () => {
    const key = await memberKey();
    const held = [
      heldReply(intent),
      heldReply({ toolCalls: [{ id: 'e1', name: 'echo', arguments: { text: 'ping' } }] }),
      heldReply({ text: 'pong' }),
    ];
    llm.script(...held.map((entry) => entry.reply));
    const requestsBefore = llm.requests.length;
    const messageId = unique('every-step');
    const workflowId = `message:ws:${messageId}`;
    const seen: EventFrame[] = [];
    let released = 0;
    const modelCallWaiting = () => released < held.length && llm.requests.length > requestsBefore + released;
    let connections = 0;
    let client = await connect(key);
    client.send(messageFrame(messageId, `echo ping ${messageId}`));
    for (;;) {
      connections += 1;
      const current = client;
      // Each connection is dropped (no close handshake) as soon as it delivered something. A model call in flight
      // answers a while after a connection opened, so that connection has to pick up a run that is working.
      const openedAt = Date.now();
      await until(() => {
        if (current.events.length > 0) return true;
        if (modelCallWaiting() && Date.now() - openedAt > MODEL_ANSWERS_AFTER_MS) held[released++]!.release();
        return undefined;
      }, `an event on connection ${connections}`);
      current.ws.terminate();
      await current.closed;
      seen.push(...current.events);
      if (seen.some((event) => event.type === 'reply')) break;
      client = await connect(key, `?last_event_id=${lastId(seen)}`);
    }
    for (const entry of held) entry.release();
    expect(seen.find((event) => event.type === 'reply')!.data).toMatchObject({ text: 'pong' });
    expect(seen.find((event) => event.type === 'tool')!.data).toMatchObject({ tool: 'echo', ok: true });
    // Every model call was answered while a resumed connection waited on it.
    expect(connections).toBeGreaterThanOrEqual(held.length);
    await expectWholeRun(seen, workflowId);
  });
});

describe('a gRPC watcher that drops and resumes', () => {
  /** Collects a WatchRun stream until the server ends it. */
  function watchToEnd(key: string, workflowId: string, afterEventId: number) {
    const events: Array<{ id: number; type: string; data: Record<string, unknown> }> = [];
    const stream = grpcClient.WatchRun({ workflow_id: workflowId, after_event_id: String(afterEventId) }, withKey(key));
    stream.on('data', (event: GrpcRunEvent) =>
      events.push({ id: Number(event.id), type: event.type, data: JSON.parse(event.data_json) }),
    );
    const ended = new Promise<typeof events>((resolve, reject) => {
      stream.on('end', () => resolve(events));
      stream.on('error', reject);
    });
    return { stream, events, ended };
  }

  it('gets the rest of a parked run from WatchRun called again with after_event_id, once it is approved', async () => {
    const key = await memberKey();
    llm.script(intent, { toolCalls: [{ id: 'gp1', name: 'pay', arguments: { to: 'Initech' } }] });
    const messageId = unique('grpc-parked');
    const workflowId = `message:ws:${messageId}`;
    const starter = await connect(key);
    starter.send(messageFrame(messageId, `pay Initech ${messageId}`));
    await until(() => starter.events[0], 'the accepted event');
    starter.ws.terminate();
    const first = watchToEnd(key, workflowId, 0);
    await eventually(
      async () =>
        (await platform.temporal.workflow.getHandle(workflowId).query<RunStatus>('status')).pendingApproval?.jobId,
      20_000,
      'the run to park on its approval',
    );
    await eventually(
      async () => (lastId(first.events) === (await recordedIds(workflowId)).at(-1) ? true : undefined),
      10_000,
      'the events before parking',
    );
    first.stream.cancel();
    await first.ended.catch(() => undefined);
    const beforeDrop = [...first.events];

    const second = watchToEnd(key, workflowId, lastId(beforeDrop));
    llm.script({ text: 'Paid Initech.' });
    const approve = await fetch(`${platform.apiUrl}/v1/runs/${encodeURIComponent(workflowId)}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${platform.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'ok' }),
    });
    expect(approve.status).toBe(202);
    const rest = await second.ended;
    expect(rest.at(-1)).toMatchObject({ type: 'reply', data: { text: 'Paid Initech.' } });
    await expectWholeRun([...beforeDrop, ...rest], workflowId);
  });

  it('misses nothing when WatchRun is cancelled after every event and called again with after_event_id', async () => {
    const key = await memberKey();
    const held = [
      heldReply(intent),
      heldReply({ toolCalls: [{ id: 'g1', name: 'echo', arguments: { text: 'ping' } }] }),
      heldReply({ text: 'pong over grpc' }),
    ];
    llm.script(...held.map((entry) => entry.reply));
    const requestsBefore = llm.requests.length;
    const messageId = unique('grpc-every-step');
    const workflowId = `message:ws:${messageId}`;
    // Started over WebSocket, watched over gRPC: WatchRun follows any run by its id.
    const starter = await connect(key);
    starter.send(messageFrame(messageId, `echo ping ${messageId}`));
    await until(() => starter.events[0], 'the accepted event');
    starter.ws.terminate();

    const seen: Array<{ id: number; type: string; data: Record<string, unknown> }> = [];
    let released = 0;
    const modelCallWaiting = () => released < held.length && llm.requests.length > requestsBefore + released;
    let calls = 0;
    for (;;) {
      calls += 1;
      const received: typeof seen = [];
      const stream = grpcClient.WatchRun(
        { workflow_id: workflowId, after_event_id: String(lastId(seen)) },
        withKey(key),
      );
      const ended = new Promise<string>((resolve) => {
        stream.on('error', (error: grpc.ServiceError) => resolve(grpc.status[error.code]));
        stream.on('end', () => resolve('end'));
      });
      stream.on('data', (event: GrpcRunEvent) => {
        received.push({ id: Number(event.id), type: event.type, data: JSON.parse(event.data_json) });
        stream.cancel();
      });
      const openedAt = Date.now();
      await until(() => {
        if (received.length > 0) return true;
        if (modelCallWaiting() && Date.now() - openedAt > MODEL_ANSWERS_AFTER_MS) held[released++]!.release();
        return undefined;
      }, `an event on call ${calls}`);
      expect(['CANCELLED', 'end']).toContain(await ended);
      seen.push(...received);
      if (seen.some((event) => event.type === 'reply')) break;
    }
    for (const entry of held) entry.release();
    expect(seen.find((event) => event.type === 'reply')!.data).toMatchObject({ text: 'pong over grpc' });
    expect(calls).toBeGreaterThanOrEqual(held.length);
    await expectWholeRun(seen, workflowId);
  });
});

describe('100 watchers at once', () => {
  it('brings one run to 50 WebSocket and 50 gRPC watchers, all dropped mid-run and resumed', async () => {
    const key = await memberKey();
    const plan = heldReply({ text: 'one answer for a hundred' });
    llm.script(intent, plan.reply);
    const messageId = unique('crowd');
    const workflowId = `message:ws:${messageId}`;
    const starter = await connect(key);
    starter.send(messageFrame(messageId, `a crowd is watching ${messageId}`));
    await until(() => starter.events[0], 'the accepted event');
    starter.ws.terminate();

    const watchers = 50;
    const wsQuery = (after: number) => `?last_event_id=${after}&workflow_ids=${encodeURIComponent(workflowId)}`;
    const watchGrpc = (after: number) => {
      const events: Array<{ id: number; type: string }> = [];
      const stream = grpcClient.WatchRun({ workflow_id: workflowId, after_event_id: String(after) }, withKey(key));
      const ended = new Promise<string>((resolve) => {
        stream.on('error', (error: grpc.ServiceError) => resolve(grpc.status[error.code]));
        stream.on('end', () => resolve('end'));
      });
      stream.on('data', (event: GrpcRunEvent) => events.push({ id: Number(event.id), type: event.type }));
      return { stream, events, ended };
    };
    const sockets = await Promise.all(Array.from({ length: watchers }, () => connect(key, wsQuery(0))));
    const streams = Array.from({ length: watchers }, () => watchGrpc(0));
    const everyone = () => [...sockets.map((socket) => socket.events), ...streams.map((stream) => stream.events)];
    const sawIntent = (events: Array<{ type: string }>) => events.some((event) => event.type === 'intent');
    await until(() => (everyone().every(sawIntent) ? true : undefined), 'every watcher to see the intent event');
    expect(await metricValue(platform, 'conduit_stream_watchers{channel="ws"}')).toBeGreaterThanOrEqual(watchers);
    expect(await metricValue(platform, 'conduit_stream_watchers{channel="grpc"}')).toBeGreaterThanOrEqual(watchers);

    // All dropped while the model works, and all back from their own last event.
    for (const socket of sockets) socket.ws.terminate();
    for (const { stream } of streams) stream.cancel();
    await Promise.all([...sockets.map((socket) => socket.closed), ...streams.map((stream) => stream.ended)]);
    const resumedSockets = await Promise.all(sockets.map((socket) => connect(key, wsQuery(lastId(socket.events)))));
    const resumedStreams = streams.map((stream) => watchGrpc(lastId(stream.events)));
    plan.release();
    try {
      const replied = (events: Array<{ type: string }>) => events.some((event) => event.type === 'reply');
      await until(
        () =>
          [...resumedSockets.map((socket) => socket.events), ...resumedStreams.map((stream) => stream.events)].every(
            replied,
          )
            ? true
            : undefined,
        'every watcher to get the reply',
        30_000,
      );
      const recorded = await recordedIds(workflowId);
      for (let i = 0; i < watchers; i++) {
        expect([...sockets[i]!.events, ...resumedSockets[i]!.events].map((event) => event.id)).toEqual(recorded);
        expect([...streams[i]!.events, ...resumedStreams[i]!.events].map((event) => event.id)).toEqual(recorded);
      }
      expect(await Promise.all(resumedStreams.map((stream) => stream.ended))).toEqual(Array(watchers).fill('end'));
    } finally {
      plan.release();
      for (const socket of resumedSockets) socket.ws.terminate();
    }
  });
});

describe('a watcher that stops reading', () => {
  /**
   * A run whose log holds far more than a connection may buffer for its client (1 MiB) plus what the kernel's
   * socket buffers take: 24 MiB of progress notices, then its reply. Written to the log directly, as the activities
   * would, since no model answer is that large.
   */
  async function seedLargeRun(channel: string): Promise<{ workflowId: string; ids: number[] }> {
    const workflowId = `message:${channel}:${unique('large')}`;
    const { db } = platform.database;
    const insert = async (type: string, data: Record<string, unknown>) => {
      const [row] = await db
        .insert(runEvents)
        .values({ workflowId, dedupeKey: `${workflowId}:${type}:${unique('seed')}`, type, data })
        .returning({ id: runEvents.id });
      return row!.id;
    };
    const ids = [await insert('accepted', { channel, messageId: workflowId, owner: 'seed' })];
    for (let i = 0; i < 96; i++)
      ids.push(await insert('progress', { text: randomBytes(192 * 1024).toString('base64') }));
    ids.push(await insert('reply', { text: 'the end', kind: 'final' }));
    return { workflowId, ids };
  }

  const cutOffs = (channel: string) =>
    metricValue(platform, `conduit_stream_slow_clients_cut_off_total{channel="${channel}"}`);

  it('is closed with 1013 once its WebSocket send buffer stays full, and resumes from its last event', async () => {
    const key = await memberKey();
    const { workflowId, ids } = await seedLargeRun('ws');
    const before = await cutOffs('ws');
    const query = (after: number) => `?last_event_id=${after}&workflow_ids=${encodeURIComponent(workflowId)}`;
    const client = await connect(key, query(0));
    client.ws.pause();
    await eventually(async () => ((await cutOffs('ws')) > before ? true : undefined), 30_000, 'the cut-off');
    client.ws.resume();
    expect(await client.closed).toEqual({ code: 1013, reason: 'send buffer full: reconnect with last_event_id' });
    const received = client.events.map((event) => event.id);
    expect(received.length).toBeGreaterThan(0);
    expect(received.length).toBeLessThan(ids.length);
    expect(received).toEqual(ids.slice(0, received.length));

    const again = await connect(key, query(lastId(client.events)));
    try {
      await until(() => again.events.find((event) => event.type === 'reply'), 'the rest of the run');
      expect([...received, ...again.events.map((event) => event.id)]).toEqual(ids);
    } finally {
      again.ws.terminate();
    }
  });

  it('fails WatchRun with RESOURCE_EXHAUSTED once its send buffer stays full, and resumes from its last event', async () => {
    const key = await memberKey();
    const { workflowId, ids } = await seedLargeRun('grpc');
    const before = await cutOffs('grpc');
    const received: number[] = [];
    const stream = grpcClient.WatchRun({ workflow_id: workflowId, after_event_id: '0' }, withKey(key));
    const ended = new Promise<grpc.ServiceError | 'end'>((resolve) => {
      stream.on('error', (error: grpc.ServiceError) => resolve(error));
      stream.on('end', () => resolve('end'));
    });
    stream.on('data', (event: GrpcRunEvent) => received.push(Number(event.id)));
    stream.pause();
    await eventually(async () => ((await cutOffs('grpc')) > before ? true : undefined), 30_000, 'the cut-off');
    stream.resume();
    expect(await ended).toMatchObject({
      code: grpc.status.RESOURCE_EXHAUSTED,
      details: 'send buffer full: the client is not reading; call WatchRun again with after_event_id',
    });
    expect(received.length).toBeGreaterThan(0);
    expect(received.length).toBeLessThan(ids.length);
    expect(received).toEqual(ids.slice(0, received.length));

    const rest: number[] = [];
    const again = grpcClient.WatchRun(
      { workflow_id: workflowId, after_event_id: String(received.at(-1)) },
      withKey(key),
    );
    again.on('data', (event: GrpcRunEvent) => rest.push(Number(event.id)));
    await new Promise<void>((resolve, reject) => {
      again.on('end', () => resolve());
      again.on('error', reject);
    });
    expect([...received, ...rest]).toEqual(ids);
  });
});
