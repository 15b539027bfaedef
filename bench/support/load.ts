// Open-loop load: request i is due at start + i / rate whatever happened to earlier requests, and its latency
// is measured from that due time (not from when it was actually sent), so a slow server cannot hide its
// queueing by slowing the generator down (coordinated omission).
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Outcome<T> {
  index: number;
  /** performance.now() at which the request was due. */
  dueAt: number;
  /** performance.now() when the answer (or the error) arrived. */
  doneAt: number;
  latencyMs: number;
  ok: boolean;
  value?: T;
  error?: string;
}

export interface OpenLoopOptions<T> {
  ratePerSecond: number;
  count: number;
  send: (index: number) => Promise<T>;
  /** Delay before the first request is due, so setup work does not eat into the schedule. */
  leadMs?: number;
}

export async function openLoop<T>(options: OpenLoopOptions<T>): Promise<{ outcomes: Outcome<T>[]; startedAt: number }> {
  const { ratePerSecond, count, send } = options;
  const startedAt = performance.now() + (options.leadMs ?? 20);
  const interval = 1000 / ratePerSecond;
  const pending: Array<Promise<Outcome<T>>> = [];
  let next = 0;
  while (next < count) {
    const now = performance.now();
    while (next < count && startedAt + next * interval <= now) {
      const index = next++;
      const dueAt = startedAt + index * interval;
      pending.push(
        send(index).then(
          (value) => finish(index, dueAt, true, value),
          (error: unknown) => finish<T>(index, dueAt, false, undefined, error),
        ),
      );
    }
    if (next < count) {
      const wait = startedAt + next * interval - performance.now();
      // setTimeout has ~1 ms granularity; requests that fall due meanwhile are sent together, late by < 1 ms.
      await sleep(Math.max(0, Math.min(wait, 50)));
    }
  }
  return { outcomes: await Promise.all(pending), startedAt };
}

function finish<T>(index: number, dueAt: number, ok: boolean, value?: T, error?: unknown): Outcome<T> {
  const doneAt = performance.now();
  return {
    index,
    dueAt,
    doneAt,
    latencyMs: doneAt - dueAt,
    ok,
    value,
    error: error === undefined ? undefined : error instanceof Error ? error.message : String(error),
  };
}

/** Keep-alive HTTP client with no socket limit, so the generator never queues requests itself. */
export const httpAgent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY, maxFreeSockets: 512 });

export interface HttpAnswer {
  status: number;
  body: string;
}

export function postJson(
  url: string,
  body: string,
  headers: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent: httpAgent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
