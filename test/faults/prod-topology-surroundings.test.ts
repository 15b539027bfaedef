// Issue 14 on the production topology (test/support/prod-fault-stack.ts: the Temporal server on PostgreSQL, two API
// processes behind nginx, two workers), for what surrounds Conduit: case 4, the model vendor fails (503 for 12 s;
// answers that hang, break mid-body or are throttled; every provider down); case 5, Feishu's send API down, then
// back; case 7, WebSocket watchers dropped and resumed through nginx, so a resume may land on the other API replica,
// a hundred at once, and one that never reads; case 8, MinIO's drive nearly full. Times are compressed as on the
// npm start topology (test/faults/model-outage.test.ts, chat-send-outage.test.ts): a 30 s breaker cool-down becomes
// 3 s, a 10-minute vendor outage 12 s, a 30-minute send outage 20 s. Each worker keeps its own breakers, so the
// fake vendors tell the workers apart by their API keys and the breakers are counted per worker. gRPC is not part
// of this topology (docker-compose.yml and deploy/k8s set no GRPC_PORT, nginx proxies no HTTP/2):
// test/stream-resume.test.ts covers WatchRun.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, readFile, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection, WorkflowClient } from '@temporalio/client';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { signCustomPayload } from '../../channels/custom/signature.js';
import { messageWorkflowId } from '../../runs/contract.js';
import { MAX_INLINE_TEXT_BYTES } from '../../runs/offload-large-text.js';
import { type FeishuOpenApiFake, startFeishuOpenApi } from '../fakes/feishu-open-api.js';
import type { FakeChatBody, FakeLlmReply } from '../fakes/openai-compatible.js';
import { runLoad, summarise } from '../support/fault-load.js';
import { deliverFeishuText } from '../support/feishu-events.js';
import {
  lastUserText,
  loadText,
  modelAttempts,
  startVendor,
  type Vendor,
  type VendorMode,
  wrongReplies,
} from '../support/model-vendors.js';
import { eventually } from '../support/platform.js';
import { type FaultStack, startFaultStack } from '../support/prod-fault-stack.js';

const COOLDOWN_MS = 3_000;
const FAILURES = 3;
const TIMEOUT_MS = 2_000;
const WORKERS = ['worker-1', 'worker-2'];
const FEISHU = { appId: 'cli_prod_faults', appSecret: `fs-prod-${randomBytes(8).toString('hex')}`, token: 'fs-prod' };
const MIB = 1024 * 1024;
// Over 128 KB in three-byte characters, within the custom channel's 100,000 characters: the door offloads it.
const PADDING = '€'.repeat(Math.ceil((MAX_INLINE_TEXT_BYTES + 4096) / 3));

let faults: FaultStack;
let primary: Vendor;
let fallback: Vendor;
let feishu: FeishuOpenApiFake;
let temporal: Connection;
let workflows: WorkflowClient;
let sql: postgres.Sql;

// Case 8 gives MinIO's data directory a small tmpfs of its own, which needs permission to mount (root). Tried once
// when the file is loaded, so the case knows whether it can run.
const mountProbe = await mkdtemp(join(tmpdir(), 'conduit-mount-probe-'));
const canMount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountProbe]).status === 0;
if (canMount) spawnSync('umount', [mountProbe]);
await rm(mountProbe, { recursive: true, force: true });
if (!canMount) console.warn('prod faults: cannot mount a tmpfs for MinIO (not root?); case 8 is skipped');

/** Case 7's runs: a message starting with "park" asks for http_request, a sensitive tool, so its run waits for approval. */
function parkingAnswer(body: FakeChatBody): FakeLlmReply | undefined {
  const asked = lastUserText(body);
  if (!asked.startsWith('park ')) return undefined;
  if (body.response_format !== undefined) return { json: { intent: 'task', confidence: 0.9, reason: 'scripted' } };
  if (body.messages.some((message) => message.role === 'tool')) return { text: `done: ${asked}` };
  return {
    toolCalls: [{ name: 'http_request', arguments: { method: 'GET', url: `${primary.fake.baseUrl}/models` } }],
  };
}

/** When each call asking a vendor to summarise a conversation's history (memory compaction) arrived. */
const compactionCalls: number[] = [];

beforeAll(async () => {
  const vendorOptions = {
    retryAfterSeconds: COOLDOWN_MS / 1000,
    answer: (body: FakeChatBody) => {
      const system = body.messages.find((message) => message.role === 'system')?.content;
      if (typeof system === 'string' && system.startsWith('Summarise the conversation below')) {
        compactionCalls.push(Date.now());
      }
      return parkingAnswer(body);
    },
  };
  [primary, fallback, feishu] = await Promise.all([
    startVendor('primary', vendorOptions),
    startVendor('fallback', vendorOptions),
    startFeishuOpenApi({ appId: FEISHU.appId, appSecret: FEISHU.appSecret }),
  ]);
  faults = await startFaultStack({
    env: {
      LLM_BASE_URL: primary.fake.baseUrl,
      LLM_MODEL: 'primary-model',
      LLM_FALLBACK_BASE_URL: fallback.fake.baseUrl,
      LLM_FALLBACK_MODEL: 'fallback-model',
      LLM_TIMEOUT_MS: String(TIMEOUT_MS),
      LLM_BREAKER_FAILURES: String(FAILURES),
      LLM_BREAKER_COOLDOWN_MS: String(COOLDOWN_MS),
      LLM_CACHE_TTL_SECONDS: '0',
      // Every load message comes from one sender; the per-sender limit is not what these cases measure.
      RATE_LIMIT_PER_USER_PER_MINUTE: '100000',
      TOOLS_HTTP_ALLOWED_HOSTS: '127.0.0.1',
      FEISHU_APP_ID: FEISHU.appId,
      FEISHU_APP_SECRET: FEISHU.appSecret,
      FEISHU_VERIFICATION_TOKEN: FEISHU.token,
      FEISHU_BASE_URL: feishu.url,
    },
    // Each worker calls the vendors with its own key: the fakes count the workers' calls apart.
    processEnv: (name): Record<string, string> =>
      name.startsWith('worker-') ? { LLM_API_KEY: name, LLM_FALLBACK_API_KEY: name } : {},
    async prepare(dir) {
      if (!canMount) return undefined;
      const drive = join(dir, 'minio');
      await mkdir(drive, { recursive: true });
      if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', drive]).status !== 0) {
        throw new Error(`could not mount MinIO's tmpfs at ${drive}`);
      }
      return async () => {
        spawnSync('umount', ['-l', drive]);
      };
    },
  });
  temporal = await Connection.connect({ address: faults.stack.temporalAddress });
  workflows = new WorkflowClient({ connection: temporal });
  sql = postgres(faults.stack.databaseUrl, { max: 2, onnotice: () => undefined });
}, 240_000);

afterAll(async () => {
  await sql?.end({ timeout: 5 });
  await temporal?.close();
  await faults?.close();
  await Promise.all([primary?.fake.close(), fallback?.fake.close(), feishu?.close()]);
}, 120_000);

/** The load's common options: signed custom-channel messages through nginx, answered at the receiver. */
const through = () => ({ baseUrl: faults.stack.url, secret: faults.secret, callbackUrl: faults.receiver.url });

/** One series of a process's /metrics (0 when absent). */
async function scrape(url: string, series: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** Samples each worker's conduit_llm_breaker_open for the primary every 50 ms, keeping each change with its time. */
function watchBreakers() {
  const changes = new Map<string, Array<{ at: number; open: boolean }>>(WORKERS.map((worker) => [worker, []]));
  const last = new Map<string, boolean>();
  const timer = setInterval(() => {
    for (const worker of faults.stack.workers) {
      scrape(worker.url, 'conduit_llm_breaker_open{provider="openai-compatible"}')
        .then((value) => {
          const open = value === 1;
          if (open !== (last.get(worker.name) ?? false)) changes.get(worker.name)!.push({ at: Date.now(), open });
          last.set(worker.name, open);
        })
        .catch(() => undefined);
    }
  }, 50);
  return {
    firstAfter: (worker: string, at: number, open: boolean) =>
      changes.get(worker)!.find((change) => change.at >= at && change.open === open)?.at,
    opens: (worker: string, before: number) =>
      changes.get(worker)!.filter((change) => change.open && change.at < before).length,
    isOpen: (worker: string) => last.get(worker) ?? false,
    stop: () => clearInterval(timer),
  };
}

const callsOf = (vendor: Vendor, worker: string, from: number, to: number) =>
  vendor.calls.filter((call) => call.caller === worker && call.at >= from && call.at < to);

const ms = (value: number | undefined) => (value === undefined ? '-' : String(Math.round(value)));

describe('case 4 on the production topology: the model vendor fails under load', () => {
  it('each worker routes around a primary answering 503 within seconds, calls it only to probe, and returns to it', async () => {
    const OUTAGE_AT_MS = 2_000;
    const OUTAGE_MS = 12_000;
    const RATE = 4;
    const breakers = watchBreakers();
    let outageStart = 0;
    let outageEnd = 0;
    const { deliveries } = await runLoad({
      ...through(),
      ratePerSecond: RATE,
      durationMs: 20_000,
      text: loadText,
      faults: [
        {
          atMs: OUTAGE_AT_MS,
          inject: () => {
            outageStart = Date.now();
            primary.mode = 'down';
          },
        },
        {
          atMs: OUTAGE_AT_MS + OUTAGE_MS,
          inject: () => {
            outageEnd = Date.now();
            primary.mode = 'up';
          },
        },
      ],
    });
    const ids = deliveries.map((delivery) => delivery.messageId);
    await faults.waitForReplies(ids, 30_000);
    breakers.stop();

    const outcome = summarise(deliveries, faults.receiver.replies);
    const perWorker = WORKERS.map((worker) => {
      const openedAt = breakers.firstAfter(worker, outageStart, true);
      const closedAt = breakers.firstAfter(worker, outageEnd, false);
      const during = callsOf(primary, worker, outageStart, outageEnd);
      const back = primary.calls.find((call) => call.caller === worker && call.at >= outageEnd && call.mode === 'up');
      return {
        worker,
        openedAfterMs: openedAt === undefined ? undefined : openedAt - outageStart,
        callsBeforeOpen: during.filter((call) => openedAt === undefined || call.at < openedAt).length,
        callsWhileOpen: during.filter((call) => openedAt !== undefined && call.at >= openedAt).length,
        answeringAgainAfterMs: back ? back.at - outageEnd : undefined,
        closedAfterMs: closedAt === undefined ? undefined : closedAt - outageEnd,
      };
    });
    const wrong = wrongReplies(faults.receiver, ids, ['primary', 'fallback']);
    const byFallback = ids.filter((id) => faults.receiver.texts.get(id)?.[0]?.startsWith('fallback')).length;
    console.error(
      `prod topology, primary 503 for ${OUTAGE_MS} ms under ${RATE} msg/s: ${JSON.stringify(outcome)}; ` +
        perWorker
          .map(
            (each) =>
              `${each.worker}: breaker open ${ms(each.openedAfterMs)} ms after the outage began, after ${each.callsBeforeOpen} calls ` +
              `met the 503; ${each.callsWhileOpen} calls while open (probes, cool-down ${COOLDOWN_MS} ms); primary answering ` +
              `again ${ms(each.answeringAgainAfterMs)} ms after it was back, breaker closed ${ms(each.closedAfterMs)} ms after`,
          )
          .join('; ') +
        `; ${byFallback} replies by the fallback; wrong or truncated replies ${wrong.length}`,
    );

    expect(outcome.unexpectedStatuses).toEqual([]);
    expect(outcome.acknowledged).toBe(outcome.messages);
    expect(outcome.missing).toBe(0);
    expect(outcome.duplicated).toBe(0);
    expect(wrong).toEqual([]);
    expect(byFallback).toBeGreaterThan(0);
    for (const each of perWorker) {
      // Both workers run messages, so each finds the dead primary by itself, and each only probes it once open.
      expect(each.openedAfterMs, each.worker).toBeDefined();
      expect(each.openedAfterMs!, each.worker).toBeLessThan(5_000);
      expect(each.closedAfterMs, each.worker).toBeDefined();
      expect(each.callsWhileOpen, each.worker).toBeLessThanOrEqual(Math.ceil(OUTAGE_MS / COOLDOWN_MS) + 1);
    }
  }, 120_000);

  it('each worker fails over from answers that hang, break mid-body or are throttled, and only whole answers go out', async () => {
    const RATE = 3;
    const breakers = watchBreakers();
    const marks: Record<string, number> = {};
    const phase = (name: string, mode: VendorMode) => {
      marks[name] = Date.now();
      primary.mode = mode;
    };
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    /** Until every worker's breaker for the primary is open (or closed), or at most `ms`. */
    const breakersAll = async (open: boolean, ms: number) => {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline && !WORKERS.every((worker) => breakers.isOpen(worker) === open)) await sleep(50);
    };
    // Each worker sees half the calls and needs its own three failures, so a phase lasts until both breakers opened
    // (at most a bound the assertions check against), and the next begins once both closed again (a probe after
    // the cool-down): fixed times were too short on a loaded machine, where a hanging call alone takes 2 s.
    const script = (async () => {
      await sleep(1_000);
      phase('hang', 'hang');
      await breakersAll(true, 8_000);
      phase('hangEnd', 'up');
      await breakersAll(false, 10_000);
      phase('break', 'break');
      await breakersAll(true, 5_000);
      phase('breakEnd', 'up');
      await breakersAll(false, 10_000);
      phase('throttle', 'throttle');
      await sleep(1_000);
      phase('throttleEnd', 'up');
    })();
    const { deliveries } = await runLoad({
      ...through(),
      ratePerSecond: RATE,
      // Long enough for the phases, and for each worker's next call to the primary after the throttle to show.
      durationMs: 28_000,
      text: loadText,
    });
    await script;
    const loadEnded = Date.now();
    const ids = deliveries.map((delivery) => delivery.messageId);
    await faults.waitForReplies(ids, 30_000);
    breakers.stop();

    const outcome = summarise(deliveries, faults.receiver.replies);
    const perWorker = WORKERS.map((worker) => {
      const hangOpenedAt = breakers.firstAfter(worker, marks.hang!, true);
      const hung = callsOf(primary, worker, marks.hang!, marks.hangEnd!).filter((call) => call.mode === 'hang');
      const breakOpenedAt = breakers.firstAfter(worker, marks.break!, true);
      const broken = callsOf(primary, worker, marks.break!, marks.breakEnd!).filter((call) => call.mode === 'break');
      const throttled = callsOf(primary, worker, marks.throttle!, marks.throttleEnd!).filter(
        (call) => call.mode === 'throttle',
      );
      const lastThrottled = throttled.at(-1)?.at;
      const next =
        lastThrottled === undefined
          ? undefined
          : primary.calls.find((call) => call.caller === worker && call.at > lastThrottled && call.mode !== 'throttle');
      return {
        worker,
        hangOpenedAfterMs: hangOpenedAt === undefined ? undefined : hangOpenedAt - marks.hang!,
        hungBeforeOpen: hung.filter((call) => hangOpenedAt === undefined || call.at < hangOpenedAt).length,
        hungAfterOpen: hung.filter((call) => hangOpenedAt !== undefined && call.at >= hangOpenedAt).length,
        breakOpenedAfterMs: breakOpenedAt === undefined ? undefined : breakOpenedAt - marks.break!,
        broken: broken.length,
        brokenAfterOpen: broken.filter((call) => breakOpenedAt !== undefined && call.at >= breakOpenedAt).length,
        throttled: throttled.length,
        nextAfterThrottleMs: next && lastThrottled !== undefined ? next.at - lastThrottled : undefined,
      };
    });
    const wrong = wrongReplies(faults.receiver, ids, ['primary', 'fallback']);
    console.error(
      `prod topology, hang/break/throttle under ${RATE} msg/s: ${JSON.stringify(outcome)}; ` +
        perWorker
          .map(
            (each) =>
              `${each.worker}: hang: breaker open ${ms(each.hangOpenedAfterMs)} ms after the first hanging answer, ` +
              `${each.hungBeforeOpen} calls waited out the ${TIMEOUT_MS} ms timeout before, ${each.hungAfterOpen} probes after; ` +
              `break: ${each.broken} answers broken mid-body (${each.brokenAfterOpen} after the breaker opened ` +
              `${ms(each.breakOpenedAfterMs)} ms in); throttle (Retry-After ${COOLDOWN_MS / 1000} s): ${each.throttled} calls met ` +
              `the 429, next call ${ms(each.nextAfterThrottleMs)} ms after`,
          )
          .join('; ') +
        `; wrong or truncated replies ${wrong.length}`,
    );

    expect(outcome.unexpectedStatuses).toEqual([]);
    expect(outcome.acknowledged).toBe(outcome.messages);
    expect(outcome.missing).toBe(0);
    expect(outcome.duplicated).toBe(0);
    expect(wrong).toEqual([]);
    // The load outlasted the phases and the throttle's 3 s.
    expect(marks.throttleEnd! + COOLDOWN_MS).toBeLessThan(loadEnded);
    for (const each of perWorker) {
      expect(each.hangOpenedAfterMs!, each.worker).toBeLessThanOrEqual(marks.hangEnd! - marks.hang!);
      expect(each.breakOpenedAfterMs!, each.worker).toBeLessThanOrEqual(marks.breakEnd! - marks.break!);
      expect(each.brokenAfterOpen, each.worker).toBeLessThanOrEqual(2);
      // The 429 asked for 3 s: a worker that met it (or two calls that crossed) called nothing until the time was up.
      expect(each.throttled, each.worker).toBeLessThanOrEqual(2);
      if (each.nextAfterThrottleMs !== undefined) {
        expect(each.nextAfterThrottleMs, each.worker).toBeGreaterThanOrEqual(COOLDOWN_MS - 50);
      }
    }
    expect(perWorker.some((each) => each.throttled > 0)).toBe(true);
  }, 120_000);

  it('with every provider down, runs on both workers wait without spending their attempts and answer once one is back', async () => {
    const OUTAGE_MS = 12_000;
    const RATE = 2;
    const breakers = watchBreakers();
    primary.mode = 'down';
    fallback.mode = 'down';
    const outageStart = Date.now();
    let restoredAt = Number.NaN;
    const restore = setTimeout(() => {
      primary.mode = 'up';
      fallback.mode = 'up';
      restoredAt = performance.now();
    }, OUTAGE_MS);
    const { deliveries } = await runLoad({ ...through(), ratePerSecond: RATE, durationMs: 8_000, text: loadText });
    const ids = deliveries.map((delivery) => delivery.messageId);
    await faults.waitForReplies(ids, OUTAGE_MS + 30_000);
    clearTimeout(restore);
    breakers.stop();
    const outageEnd = outageStart + OUTAGE_MS;
    const lastReplyAt = Math.max(...ids.map((id) => faults.receiver.firstReplyAt.get(id) ?? 0));

    const outcome = summarise(deliveries, faults.receiver.replies);
    const attempts = await Promise.all(ids.map((id) => modelAttempts(workflows, messageWorkflowId('custom', id))));
    const total = attempts
      .map((run) => run.classifyIntent + run.planNextStep + run.classifyAndPlan)
      .sort((a, b) => a - b);
    const whileDown = WORKERS.map((worker) => ({
      worker,
      primary: callsOf(primary, worker, outageStart, outageEnd).length,
      fallback: callsOf(fallback, worker, outageStart, outageEnd).length,
      opens: breakers.opens(worker, outageEnd),
    }));
    const wrong = wrongReplies(faults.receiver, ids, ['primary', 'fallback']);
    const lastReplyAfterRestoreMs = lastReplyAt - restoredAt;
    console.error(
      `prod topology, every provider down ${OUTAGE_MS} ms under ${RATE} msg/s for 8 s: ${JSON.stringify(outcome)}; ` +
        `calls while down per worker ${JSON.stringify(whileDown)}; model attempts per run (intent + plan) ` +
        `min ${total[0]} median ${total[Math.floor(total.length / 2)]} max ${total.at(-1)}; ` +
        `last reply ${Math.round(lastReplyAfterRestoreMs)} ms after the vendors were back; polite failures or wrong replies ${wrong.length}`,
    );

    expect(outcome.unexpectedStatuses).toEqual([]);
    expect(outcome.acknowledged).toBe(outcome.messages);
    expect(outcome.missing).toBe(0);
    expect(outcome.duplicated).toBe(0);
    // Every run waited and answered with a model's answer: none gave up with the polite failure.
    expect(wrong).toEqual([]);
    // Spaced by the cool-down, not a busy loop: at most one attempt per cool-down, plus the backoff before it opened.
    expect(total.at(-1)).toBeLessThanOrEqual(2 * (Math.ceil(OUTAGE_MS / COOLDOWN_MS) + 4));
    // Each worker's breaker for each vendor: its failures, then about one probe per cool-down.
    for (const each of whileDown) {
      for (const calls of [each.primary, each.fallback]) {
        expect(calls, each.worker).toBeLessThanOrEqual(FAILURES + Math.ceil(OUTAGE_MS / COOLDOWN_MS) + 3);
      }
    }
  }, 120_000);
});

describe('case 5 on the production topology: the chat platform send API down, then back', () => {
  it('delivers every reply exactly once, in order per conversation, with both workers sending', async () => {
    const CONVERSATIONS = 3;
    const MESSAGES_PER_CONVERSATION = 8;
    const INTERVAL_MS = 800;
    const OUTAGE_MS = 20_000;
    const tag = randomBytes(3).toString('hex');
    const chats = Array.from({ length: CONVERSATIONS }, (_, index) => `oc_${tag}_${index}`);
    /** Message id → [chat, position in its chat]. */
    const sent = new Map<string, [string, number]>();
    const startedAt = Date.now();
    const callsBefore = feishu.received.length;
    feishu.setOutage({ status: 503, code: 1, msg: 'service unavailable' });
    // The calls the fake received before the restore were all answered 503 (it decides synchronously on arrival).
    let failedUntil = 0;
    const restored = new Promise<void>((resolve) =>
      setTimeout(() => {
        failedUntil = feishu.received.length;
        feishu.setOutage(undefined);
        resolve();
      }, OUTAGE_MS),
    );
    const statuses: number[] = [];
    for (let position = 0; position < MESSAGES_PER_CONVERSATION; position += 1) {
      for (const chat of chats) {
        const messageId = `om_${tag}_${chat.slice(-1)}_${position}`;
        sent.set(messageId, [chat, position]);
        statuses.push(
          await deliverFeishuText(faults.stack.url, {
            token: FEISHU.token,
            appId: FEISHU.appId,
            messageId,
            chatId: chat,
            chatType: 'group',
            text: `/echo ${chat} ${position}`,
            openId: 'ou_prod',
          }),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS));
    }
    await restored;

    const parentOf = (request: { path: string }) => /\/messages\/([^/]+)\/reply$/.exec(request.path)?.[1] ?? '';
    /** The successful reply calls, in the order the fake answered them. */
    const delivered = () => feishu.received.slice(failedUntil).filter((request) => sent.has(parentOf(request)));
    await eventually(
      async () => (new Set(delivered().map(parentOf)).size === sent.size ? true : undefined),
      90_000,
      'a reply to every message',
    ).catch(() => undefined);
    const recoveredAfterMs = Date.now() - startedAt - OUTAGE_MS;
    // A late duplicate would come after the last first reply.
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    const replies = delivered().map(parentOf);
    const perMessage = new Map<string, number>();
    for (const parent of replies) perMessage.set(parent, (perMessage.get(parent) ?? 0) + 1);
    const duplicated = [...perMessage.values()].filter((count) => count > 1).length;
    const outOfOrder: string[] = [];
    for (const chat of chats) {
      const positions = replies
        .filter((parent) => sent.get(parent)?.[0] === chat)
        .map((parent) => sent.get(parent)![1]);
      if (positions.some((position, index) => index > 0 && position < positions[index - 1]!))
        outOfOrder.push(`${chat}: ${positions.join(',')}`);
    }
    // Which worker sent each reply: the reply is a local activity, sent by the worker that completed the run's last
    // workflow task.
    const senders = await Promise.all(
      [...sent.keys()].map(async (id) => {
        const { events } = await workflows.getHandle(messageWorkflowId('feishu', id)).fetchHistory();
        return events?.filter((event) => event.workflowTaskCompletedEventAttributes).at(-1)
          ?.workflowTaskCompletedEventAttributes?.identity;
      }),
    );
    const perWorker = new Map<string, number>();
    for (const sender of senders) perWorker.set(sender ?? '-', (perWorker.get(sender ?? '-') ?? 0) + 1);
    const failedCalls = failedUntil - callsBefore;
    console.error(
      `prod topology, chat send outage ${OUTAGE_MS} ms: ${JSON.stringify({ messages: sent.size, replies: replies.length, duplicated, outOfOrder, failedCalls })}, ` +
        `every reply in ${recoveredAfterMs} ms after the outage ended; runs per worker ${JSON.stringify([...perWorker.values()])}; ` +
        `webhook answers ${JSON.stringify([...new Set(statuses)])}`,
    );
    expect(statuses.every((status) => status === 200)).toBe(true);
    expect(new Set(replies).size).toBe(sent.size);
    expect(duplicated).toBe(0);
    expect(outOfOrder).toEqual([]);
    expect(failedCalls).toBeGreaterThan(0);
    // Both workers sent replies, so the order held across processes, not only within one.
    expect(perWorker.size).toBe(2);
  }, 150_000);
});

interface EventFrame {
  id: number;
  workflowId: string;
  type: string;
  data: Record<string, unknown>;
}

interface Watcher {
  ws: WebSocket;
  events: EventFrame[];
  closed: Promise<{ code: number; reason: string }>;
  send(frame: unknown): void;
}

/** A WebSocket client through nginx, as a browser or a bot would hold one. */
function watch(key: string, query = ''): Promise<Watcher> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${faults.stack.url.replace(/^http/, 'ws')}/v1/ws${query}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    const events: EventFrame[] = [];
    const closed = new Promise<{ code: number; reason: string }>((done) =>
      ws.once('close', (code, reason) => done({ code, reason: reason.toString() })),
    );
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as EventFrame;
      if ('id' in frame) events.push(frame);
    });
    ws.once('error', reject);
    ws.once('open', () => resolve({ ws, events, closed, send: (frame) => ws.send(JSON.stringify(frame)) }));
  });
}

const lastId = (events: Array<{ id: number }>) => Math.max(0, ...events.map((event) => event.id));
const resumeQuery = (workflowId: string, after: number) =>
  `?last_event_id=${after}&workflow_ids=${encodeURIComponent(workflowId)}`;

async function recordedIds(workflowId: string): Promise<number[]> {
  const rows = await sql<
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
      faults.stack.apis.map((api) => scrape(api.url, 'conduit_stream_watchers{channel="ws"}')),
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
      const [row] = await sql<Array<{ id: string }>>`
        insert into run_events (workflow_id, dedupe_key, type, data)
        values (${workflowId}, ${`${workflowId}:${type}:${randomBytes(6).toString('hex')}`}, ${type}, ${sql.json(data as postgres.JSONValue)})
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
          faults.stack.apis.map((api) => scrape(api.url, 'conduit_stream_slow_clients_cut_off_total{channel="ws"}')),
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

const minioDrive = () => join(faults.dir, 'minio');

async function driveFreeBytes(): Promise<number> {
  const fs = await statfs(minioDrive());
  return fs.bavail * fs.bsize;
}

/**
 * Fills MinIO's drive until MinIO takes nothing more (it keeps 1 % of a drive free): 256 KiB left of 48 MiB. In
 * steps, since MinIO may be writing at the same time.
 */
async function fillDrive(): Promise<string> {
  const filler = join(minioDrive(), `filler-${randomBytes(4).toString('hex')}`);
  const leave = 256 * 1024;
  for (let free = await driveFreeBytes(); free > leave; free = await driveFreeBytes()) {
    try {
      await appendFile(filler, Buffer.alloc(Math.min(free - leave, MIB)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
      throw error;
    }
  }
  return filler;
}

/** One signed custom-channel message through nginx; its reply goes to the receiver. */
async function sendCustom(messageId: string, conversationId: string, text: string): Promise<number> {
  const raw = JSON.stringify({
    message_id: messageId,
    conversation_id: conversationId,
    sender: { id: 'disk' },
    text,
    callback_url: faults.receiver.url,
  });
  const response = await fetch(`${faults.stack.url}/webhooks/custom`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-conduit-signature': signCustomPayload(faults.secret, raw, Math.floor(Date.now() / 1000)),
    },
    body: raw,
  });
  await response.arrayBuffer();
  return response.status;
}

/** How many attempts the run's compaction took, from its history. */
async function compactionAttempts(workflowId: string): Promise<number> {
  const { events } = await workflows.getHandle(workflowId).fetchHistory();
  const scheduled = new Set(
    (events ?? [])
      .filter((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'compactHistory')
      .map((event) => String(event.eventId)),
  );
  return (events ?? [])
    .filter((event) => scheduled.has(String(event.activityTaskStartedEventAttributes?.scheduledEventId)))
    .reduce((sum, event) => sum + (event.activityTaskStartedEventAttributes?.attempt ?? 1), 0);
}

describe('case 8 on the production topology: the object store drive nearly full', () => {
  // Skipped only where the test cannot mount MinIO's tmpfs (not root): a real full drive needs a file system of its
  // own, and filling the machine's /tmp instead would hurt everything else on it. CI runs as root, so it runs there.
  it.skipIf(!canMount)(
    'refuses only the texts it would offload, with 503 and Retry-After, and takes them once space is freed',
    async () => {
      let filler = '';
      const large = new Set<string>();
      const started = performance.now();
      let freedAt = 0;
      let freeWhileFull = 0;
      const { deliveries } = await runLoad({
        ...through(),
        ratePerSecond: 2,
        durationMs: 16_000,
        // Every other text is over 128 KB: the door offloads it to the object store before the run starts.
        text: (messageId, index) => {
          if (index % 2 === 1) return `/echo ${messageId}`;
          large.add(messageId);
          return `/echo ${messageId} ${PADDING}`;
        },
        faults: [
          {
            atMs: 2_000,
            inject: async () => {
              filler = await fillDrive();
              freeWhileFull = await driveFreeBytes();
            },
          },
          {
            atMs: 10_000,
            inject: async () => {
              await rm(filler, { force: true });
              freedAt = performance.now() - started;
            },
          },
        ],
      });
      await faults.waitForReplies(
        deliveries.map((delivery) => delivery.messageId),
        60_000,
      );
      const outcome = summarise(deliveries, faults.receiver.replies);
      const refused = (wanted: boolean) =>
        deliveries.filter((delivery) => large.has(delivery.messageId) === wanted && delivery.statuses.includes(503));
      const replyTimes = deliveries.map(
        (delivery) => (faults.receiver.firstReplyAt.get(delivery.messageId) ?? 0) - started,
      );
      console.error(
        `prod topology, MinIO's drive filled at 2 s to ${Math.round(freeWhileFull / 1024)} KiB free, freed at ${Math.round(freedAt)} ms, ` +
          `under 2 msg/s, ${large.size} large texts: ${JSON.stringify(outcome)}; large texts refused at least once ${refused(true).length}, ` +
          `small ones ${refused(false).length}; last reply ${Math.round(Math.max(...replyTimes) - freedAt)} ms after the space was freed`,
      );
      expect(outcome.unexpectedStatuses).toEqual([]);
      expect(outcome.acknowledged).toBe(outcome.messages);
      expect(outcome.missing).toBe(0);
      expect(outcome.duplicated).toBe(0);
      expect(refused(true).length).toBeGreaterThan(0);
      expect(refused(false)).toEqual([]);
      expect(outcome.slowestRefusalMs).toBeLessThan(5_000);
      expect(freeWhileFull).toBeLessThan(MIB);
    },
    120_000,
  );

  it.skipIf(!canMount)(
    "a conversation's history snapshot waits for the space after the reply went out, and is written once it is freed",
    async () => {
      const tag = randomBytes(4).toString('hex');
      const conversation = `compaction-${tag}`;
      // Over the history's token budget (2,000 by default) in one message: the next model run of the conversation
      // (commands skip memory) compacts its history after replying, asking the model for a summary and writing the
      // folded messages to the store.
      const first = `disk-first-${tag}`;
      expect(await sendCustom(first, conversation, `remember ${'x'.repeat(10_000)}`)).toBe(202);
      await faults.waitForReplies([first], 30_000);

      const filler = await fillDrive();
      // MinIO reads its drive's free space at most once a second.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const fullAt = Date.now();
      const second = `disk-second-${tag}`;
      const sentAt = performance.now();
      expect(await sendCustom(second, conversation, 'and now, with the drive full?')).toBe(202);
      await faults.waitForReplies([second], 30_000);
      const repliedAfterMs = (faults.receiver.firstReplyAt.get(second) ?? Number.NaN) - sentAt;
      await new Promise((resolve) => setTimeout(resolve, 8_000));
      const whileFull = compactionCalls.filter((at) => at >= fullAt).length;
      await rm(filler);
      const freedAt = Date.now();
      // Its result is encrypted (the payload codec is the stack's): its state is enough.
      await eventually(
        async () =>
          (await workflows.getHandle(messageWorkflowId('custom', second)).describe()).status.name === 'COMPLETED'
            ? true
            : undefined,
        60_000,
        'the run to close',
      );
      const closedAfterMs = Date.now() - freedAt;
      const attempts = await compactionAttempts(messageWorkflowId('custom', second));
      const [summary] = await sql<Array<{ value: unknown }>>`
        select m.value from memories m join conversations c on c.id = m.conversation_id
        where c.external_id = ${conversation} and m.key = 'summary'`;
      console.error(
        `prod topology, MinIO's drive full under a conversation's history compaction: the reply out ${Math.round(repliedAfterMs)} ms ` +
          `after the message, ${whileFull} summary calls to the model while the snapshot could not be written (${Math.round((freedAt - fullAt) / 1000)} s full); ` +
          `${attempts} attempts of the compaction; the run closed ${closedAfterMs} ms after the space was freed, summary ${summary ? 'stored' : 'missing'}; answered ` +
          `${faults.receiver.replies.get(second)} time(s)`,
      );
      expect(faults.receiver.replies.get(second)).toBe(1);
      expect(summary).toBeDefined();
      // The drive was full when the compaction first tried: it waited in its retries until the space was back.
      expect(attempts).toBeGreaterThan(1);
      // Each of those attempts failed on the store before asking the model for a summary (the snapshot is written
      // first): a full drive costs no model call per retry.
      expect(whileFull).toBe(0);
    },
    90_000,
  );
});
