// Issue 14, case 7 on the production topology (test/support/prod-fault-stack.ts: two API processes behind nginx, two
// workers): WebSocket clients drop, crowd in and stop reading, through nginx, so a resume may land on the other API
// replica. The runs park on an approval (the fake model asks for http_request, a sensitive tool), so a client can be
// dropped while a run is in flight and nothing happens until the test approves it. Every resume must yield exactly
// the events the client missed, in order, none twice. gRPC is not part of this topology (docker-compose.yml and
// deploy/k8s set no GRPC_PORT, nginx proxies no HTTP/2): test/stream-resume.test.ts covers WatchRun.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeLlm, startFakeLlm } from '../fakes/openai-compatible.js';
import { lastUserText } from '../support/model-vendors.js';
import { eventually } from '../support/platform.js';
import { type FaultStack, startFaultStack } from '../support/prod-fault-stack.js';
import { type EventFrame, lastEventId as lastId, openRunEventSocket } from '../support/run-event-socket.js';

let faults: FaultStack;
let llm: FakeLlm;

beforeAll(async () => {
  // A message starting with "park" asks for http_request, so its run waits for approval; then the model answers.
  llm = await startFakeLlm({
    record: false,
    respond: (body) => {
      const asked = lastUserText(body);
      if (body.response_format !== undefined) return { json: { intent: 'task', confidence: 0.9, reason: 'scripted' } };
      if (body.messages.some((message) => message.role === 'tool')) return { text: `done: ${asked}` };
      return { toolCalls: [{ name: 'http_request', arguments: { method: 'GET', url: `${llm.baseUrl}/models` } }] };
    },
  });
  faults = await startFaultStack({
    env: { LLM_BASE_URL: llm.baseUrl, LLM_MODEL: 'fake-model', TOOLS_HTTP_ALLOWED_HOSTS: '127.0.0.1' },
  });
}, 240_000);

afterAll(async () => {
  await faults?.close();
  await llm?.close();
}, 120_000);

/** A WebSocket client through nginx, as a browser or a bot would hold one. */
const watch = (key: string, query = '') => openRunEventSocket(faults.stack.url, key, query);

const resumeQuery = (workflowId: string, after: number) =>
  `?last_event_id=${after}&workflow_ids=${encodeURIComponent(workflowId)}`;

async function recordedIds(workflowId: string): Promise<number[]> {
  const rows = await faults.sql()<
    Array<{ id: string }>
  >`select id from run_events where workflow_id = ${workflowId} order by id`;
  return rows.map((row) => Number(row.id));
}

/** A key of the member role, made through the API as an operator would. */
async function memberKey(): Promise<string> {
  const response = await fetch(`${faults.stack.url}/v1/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${faults.stack.adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `watcher-${randomBytes(4).toString('hex')}`, role: 'member' }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { key: string }).key;
}

/** Whether the run waits for someone's approval (GET /v1/runs through nginx, as an operator's tool would ask). */
async function parked(workflowId: string): Promise<boolean> {
  const response = await fetch(`${faults.stack.url}/v1/runs/${encodeURIComponent(workflowId)}`, {
    headers: { authorization: `Bearer ${faults.stack.adminKey}` },
  });
  if (response.status !== 200) return false;
  return ((await response.json()) as { status?: { pendingApproval?: unknown } }).status?.pendingApproval !== undefined;
}

/** Approves the run once it waits for approval (the admin decides; the member who asked may not). */
async function approveWhenParked(workflowId: string): Promise<void> {
  await eventually(async () => ((await parked(workflowId)) ? true : undefined), 30_000, 'the run to wait for approval');
  const approved = await fetch(`${faults.stack.url}/v1/runs/${encodeURIComponent(workflowId)}/approve`, {
    method: 'POST',
    headers: { authorization: `Bearer ${faults.stack.adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ reason: 'ok' }),
  });
  expect(approved.status).toBe(202);
}

/** nginx's access log: the API replica each finished WebSocket connection of this test went to. */
async function replicasOfWebSockets(since: number): Promise<Map<string, number>> {
  const lines = (await readFile(join(faults.dir, 'nginx', 'access.log'), 'utf8')).split('\n').slice(since);
  const counts = new Map<string, number>();
  for (const line of lines) {
    if (!line.includes('"uri":"/v1/ws"')) continue;
    const upstream = (JSON.parse(line) as { upstream_addr: string }).upstream_addr;
    counts.set(upstream, (counts.get(upstream) ?? 0) + 1);
  }
  return counts;
}

const accessLogLines = async () =>
  (await readFile(join(faults.dir, 'nginx', 'access.log'), 'utf8')).split('\n').length - 1;

describe('case 7 on the production topology: WebSocket clients drop, crowd in and stop reading, through nginx', () => {
  it('a watcher dropped after every event and resumed on whichever replica nginx picks misses nothing', async () => {
    const key = await memberKey();
    const logFrom = await accessLogLines();
    const messageId = `drop-${randomBytes(4).toString('hex')}`;
    const workflowId = `message:ws:${messageId}`;
    const seen: EventFrame[] = [];
    let approval: Promise<void> | undefined;
    let connections = 0;
    let client = await watch(key);
    client.send({ type: 'message', message_id: messageId, conversation_id: messageId, text: `park ${messageId}` });
    for (;;) {
      connections += 1;
      const current = client;
      // Dropped (no close handshake) as soon as it delivered something; a run parked on its approval records
      // nothing until someone decides, so the decision comes while a resumed connection waits.
      const openedAt = Date.now();
      await eventually(
        async () => {
          if (current.events.length > 0) return true;
          if (!approval && Date.now() - openedAt > 1_000) {
            approval = approveWhenParked(workflowId);
            approval.catch(() => undefined); // awaited below, after the loop
          }
          return undefined;
        },
        45_000,
        `an event on connection ${connections}`,
      );
      current.ws.terminate();
      await current.closed;
      seen.push(...current.events);
      if (seen.some((event) => event.type === 'reply')) break;
      client = await watch(key, resumeQuery(workflowId, lastId(seen)));
    }
    await approval;
    // nginx logs a WebSocket connection when it ends: each is in the log by now.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const replicas = await replicasOfWebSockets(logFrom);
    console.error(
      `prod topology, one watcher dropped after every event: ${connections} connections, ${seen.length} events, ` +
        `connections per API replica ${JSON.stringify(Object.fromEntries(replicas))}`,
    );
    expect(seen.find((event) => event.type === 'reply')!.data).toMatchObject({ text: `done: park ${messageId}` });
    expect(seen.map((event) => event.id)).toEqual(await recordedIds(workflowId));
    // Resumes went to both replicas: a replica picks up a run it never served before.
    expect(replicas.size).toBe(2);
  }, 90_000);

  it('a hundred watchers of one run, spread over both replicas, all dropped while it waits and resumed, get it whole', async () => {
    const WATCHERS = 100;
    const key = await memberKey();
    const messageId = `crowd-${randomBytes(4).toString('hex')}`;
    const workflowId = `message:ws:${messageId}`;
    const starter = await watch(key);
    starter.send({ type: 'message', message_id: messageId, conversation_id: messageId, text: `park ${messageId}` });
    await eventually(async () => starter.events[0], 20_000, 'the accepted event');
    starter.ws.terminate();

    const sockets = await Promise.all(Array.from({ length: WATCHERS }, () => watch(key, resumeQuery(workflowId, 0))));
    // Parked: every watcher has everything recorded so far, and nothing more comes until someone decides.
    await eventually(
      async () => {
        const recorded = await recordedIds(workflowId);
        const all = sockets.every((socket) => lastId(socket.events) === recorded.at(-1));
        return all && (await parked(workflowId)) ? true : undefined;
      },
      30_000,
      'every watcher to see the run park',
    );
    const perReplica = await Promise.all(
      faults.stack.apis.map((api) => faults.metric(api.url, 'conduit_stream_watchers{channel="ws"}')),
    );

    for (const socket of sockets) socket.ws.terminate();
    await Promise.all(sockets.map((socket) => socket.closed));
    const resumed = await Promise.all(
      sockets.map((socket) => watch(key, resumeQuery(workflowId, lastId(socket.events)))),
    );
    await approveWhenParked(workflowId);
    try {
      await eventually(
        async () =>
          resumed.every((socket) => socket.events.some((event) => event.type === 'reply')) ? true : undefined,
        30_000,
        'every watcher to get the reply',
      );
      const recorded = await recordedIds(workflowId);
      const whole = sockets.filter(
        (socket, index) =>
          JSON.stringify([...socket.events, ...resumed[index]!.events].map((event) => event.id)) ===
          JSON.stringify(recorded),
      ).length;
      console.error(
        `prod topology, ${WATCHERS} watchers of one run dropped while it waited and resumed: ${whole} saw every event ` +
          `once and in order (${recorded.length} events); open watchers per API replica before the drop ${JSON.stringify(perReplica)}`,
      );
      expect(whole).toBe(WATCHERS);
      expect(perReplica.every((count) => count > 0)).toBe(true);
      expect(perReplica.reduce((sum, count) => sum + count, 0)).toBeGreaterThanOrEqual(WATCHERS);
    } finally {
      for (const socket of resumed) socket.ws.terminate();
    }
  }, 120_000);

  it('a watcher that never reads is cut off with 1013 through nginx, its buffer bounded, and resumes from its last event', async () => {
    // A run whose log holds far more than a connection may buffer (1 MiB) plus the kernel's and nginx's buffers:
    // 24 MiB of progress notices, then its reply, written to the log directly (no model answer is that large).
    const key = await memberKey();
    const workflowId = `message:ws:large-${randomBytes(4).toString('hex')}`;
    const insert = async (type: string, data: Record<string, unknown>) => {
      const [row] = await faults.sql()<Array<{ id: string }>>`
        insert into run_events (workflow_id, dedupe_key, type, data)
        values (${workflowId}, ${`${workflowId}:${type}:${randomBytes(6).toString('hex')}`}, ${type}, ${faults.sql().json(data as postgres.JSONValue)})
        returning id`;
      return Number(row!.id);
    };
    const ids = [await insert('accepted', { channel: 'ws', messageId: workflowId, owner: 'seed' })];
    for (let i = 0; i < 96; i++)
      ids.push(await insert('progress', { text: randomBytes(192 * 1024).toString('base64') }));
    ids.push(await insert('reply', { text: 'the end', kind: 'final' }));
    const cutOffs = async () =>
      (
        await Promise.all(
          faults.stack.apis.map((api) =>
            faults.metric(api.url, 'conduit_stream_slow_clients_cut_off_total{channel="ws"}'),
          ),
        )
      ).reduce((sum, count) => sum + count, 0);
    const before = await cutOffs();
    const pausedAt = Date.now();
    const client = await watch(key, resumeQuery(workflowId, 0));
    client.ws.pause();
    await eventually(async () => ((await cutOffs()) > before ? true : undefined), 60_000, 'the cut-off');
    const cutAfterMs = Date.now() - pausedAt;
    client.ws.resume();
    const closed = await client.closed;
    const received = client.events.map((event) => event.id);

    const again = await watch(key, resumeQuery(workflowId, lastId(client.events)));
    try {
      await eventually(async () => again.events.find((event) => event.type === 'reply'), 30_000, 'the rest of the run');
      console.error(
        `prod topology, a watcher that stops reading: cut off ${cutAfterMs} ms after it stopped, closed ${JSON.stringify(closed)} ` +
          `after ${received.length} of ${ids.length} events; resumed and got the other ${again.events.length}`,
      );
      expect(closed).toEqual({ code: 1013, reason: 'send buffer full: reconnect with last_event_id' });
      expect(received.length).toBeGreaterThan(0);
      expect(received.length).toBeLessThan(ids.length);
      expect([...received, ...again.events.map((event) => event.id)]).toEqual(ids);
    } finally {
      again.ws.terminate();
    }
  }, 120_000);
});
