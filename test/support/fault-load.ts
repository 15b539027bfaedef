// Steady load for the fault suite (test/faults/): signed custom-channel messages at a fixed rate, each sender acting
// as the channel's contract asks (a 503 is sent again after its Retry-After), and a receiver that counts the signed
// callbacks, so a test can say how many messages were acknowledged, answered, missing or answered twice.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signCustomPayload } from '../../channels/custom/signature.js';

export interface CallbackReceiver {
  url: string;
  /** Replies received per message id. */
  replies: Map<string, number>;
  /** The text of each reply received, per message id (to tell a whole answer from a truncated one). */
  texts: Map<string, string[]>;
  /** When the first reply to each message arrived (performance.now()). */
  firstReplyAt: Map<string, number>;
  close(): Promise<void>;
}

export async function startCallbackReceiver(): Promise<CallbackReceiver> {
  const replies = new Map<string, number>();
  const texts = new Map<string, string[]>();
  const firstReplyAt = new Map<string, number>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { in_reply_to?: string; text?: string };
      if (body.in_reply_to) {
        if (!replies.has(body.in_reply_to)) firstReplyAt.set(body.in_reply_to, performance.now());
        replies.set(body.in_reply_to, (replies.get(body.in_reply_to) ?? 0) + 1);
        texts.set(body.in_reply_to, [...(texts.get(body.in_reply_to) ?? []), body.text ?? '']);
      }
      response.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`,
    replies,
    texts,
    firstReplyAt,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface Delivery {
  messageId: string;
  statuses: number[];
  /** Milliseconds each answer took. */
  answerMs: number[];
  /** Milliseconds after the load started at which the message was acknowledged. */
  acknowledgedAt?: number;
}

export interface LoadOptions {
  /** The API (or nginx in front of it). */
  baseUrl: string;
  secret: string;
  callbackUrl: string;
  ratePerSecond: number;
  durationMs: number;
  /** The text of the index-th message (default `/echo <message id>`). */
  text?: (messageId: string, index: number) => string;
  /** Faults to inject, each once, when the load reaches its time. */
  faults?: Array<{ atMs: number; inject: () => void | Promise<void> }>;
}

/** Sends one message until it is acknowledged (or refused for good), waiting Retry-After after each 503. */
async function sendUntilAcknowledged(
  options: LoadOptions,
  messageId: string,
  index: number,
  started: number,
): Promise<Delivery> {
  const delivery: Delivery = { messageId, statuses: [], answerMs: [] };
  const raw = JSON.stringify({
    message_id: messageId,
    conversation_id: `load-${messageId}`,
    sender: { id: 'load' },
    text: options.text?.(messageId, index) ?? `/echo ${messageId}`,
    callback_url: options.callbackUrl,
  });
  const deadline = performance.now() + 90_000;
  while (performance.now() < deadline) {
    const asked = performance.now();
    let status: number;
    let retryAfter = 1;
    try {
      const response = await postSignedWebhook(options.baseUrl, options.secret, raw);
      await response.arrayBuffer();
      status = response.status;
      retryAfter = Number(response.headers.get('retry-after') ?? '1');
    } catch {
      status = 0; // no answer at all: the connection was refused or reset
    }
    delivery.statuses.push(status);
    delivery.answerMs.push(performance.now() - asked);
    if (status === 202 || status === 200) {
      delivery.acknowledgedAt = performance.now() - started;
      return delivery;
    }
    if (status !== 503 && status !== 502 && status !== 0) return delivery;
    await new Promise((resolve) => setTimeout(resolve, Math.max(1, retryAfter) * 1000));
  }
  return delivery;
}

/** Open-loop load: a new sender every 1/rate seconds, whatever the earlier ones are waiting for. */
export async function runLoad(options: LoadOptions): Promise<{ deliveries: Delivery[]; faultsAt: number[] }> {
  const started = performance.now();
  const senders: Array<Promise<Delivery>> = [];
  const faults = [...(options.faults ?? [])].sort((a, b) => a.atMs - b.atMs);
  const faultsAt: number[] = [];
  const pending: Array<Promise<void>> = [];
  const total = Math.round((options.ratePerSecond * options.durationMs) / 1000);
  for (let index = 0; index < total; index += 1) {
    const due = (index * 1000) / options.ratePerSecond;
    const wait = due - (performance.now() - started);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    while (faults.length > 0 && faults[0]!.atMs <= due) {
      const fault = faults.shift()!;
      faultsAt.push(performance.now() - started);
      pending.push(Promise.resolve(fault.inject()));
    }
    senders.push(sendUntilAcknowledged(options, `load-${index}-${randomBytes(4).toString('hex')}`, index, started));
  }
  const deliveries = await Promise.all(senders);
  await Promise.all(pending);
  return { deliveries, faultsAt };
}

export interface LoadOutcome {
  messages: number;
  acknowledged: number;
  /** Answers other than 200, 202 and 503 (0 = no answer at all). */
  unexpectedStatuses: number[];
  refusals: number;
  slowestRefusalMs: number;
  missing: number;
  duplicated: number;
}

export function summarise(deliveries: Delivery[], replies: Map<string, number>): LoadOutcome {
  const statuses = deliveries.flatMap((delivery) => delivery.statuses);
  const refusalMs = deliveries.flatMap((delivery) =>
    delivery.statuses.flatMap((status, index) => (status === 503 ? [delivery.answerMs[index]!] : [])),
  );
  return {
    messages: deliveries.length,
    acknowledged: deliveries.filter((delivery) => delivery.acknowledgedAt !== undefined).length,
    unexpectedStatuses: statuses.filter((status) => ![200, 202, 503].includes(status)),
    refusals: refusalMs.length,
    slowestRefusalMs: Math.round(Math.max(0, ...refusalMs)),
    missing: deliveries.filter((delivery) => !replies.has(delivery.messageId)).length,
    duplicated: deliveries.filter((delivery) => (replies.get(delivery.messageId) ?? 0) > 1).length,
  };
}

/** A custom-channel webhook with `raw` as its body, signed now with `secret`, as the sender's server posts it. */
export function postSignedWebhook(apiUrl: string, secret: string, raw: string): Promise<Response> {
  return fetch(`${apiUrl}/webhooks/custom`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-conduit-signature': signCustomPayload(secret, raw, Math.floor(Date.now() / 1000)),
    },
    body: raw,
  });
}
