// Issue 14, case 4 on the npm start topology (startTestPlatform): the model vendor fails under steady load of free-text
// messages through the signed custom channel, each message costing an intent and a planning call. Two fake
// OpenAI-compatible vendors (real HTTP, test/fakes/openai-compatible.ts) are the primary and the fallback
// (LLM_BASE_URL, LLM_FALLBACK_BASE_URL); the primary answers 503 to everything for 12 s, then hangs every answer
// until the client's timeout, breaks its answers mid-body, and throttles with Retry-After. A third platform has one
// vendor only, down entirely for 12 s. Times are compressed: a 30 s breaker cool-down and a 10-minute outage
// become 3 s and 12 s. Counted at a signed-callback receiver: every message answered once with the whole answer,
// calls that reached the primary while its breaker was open (probes only), time to fail over and to recover, and
// how many attempts a run spent while it waited.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageWorkflowId } from '../../runs/contract.js';
import { type CallbackReceiver, runLoad, startCallbackReceiver, summarise } from '../support/fault-load.js';
import {
  type VendorMode as Mode,
  modelAttempts,
  startVendor as startVendorWith,
  loadText as text,
  type Vendor,
  vendorOutage,
  wrongReplies,
} from '../support/model-vendors.js';
import { eventually, startTestPlatform, type TestPlatform } from '../support/platform.js';

const SECRET = `whsec_llm_${randomBytes(12).toString('hex')}`;
const COOLDOWN_MS = 3_000;
const FAILURES = 3;
const TIMEOUT_MS = 2_000;

const startVendor = (name: string) => startVendorWith(name, { retryAfterSeconds: COOLDOWN_MS / 1000 });

/** Samples conduit_llm_breaker_open every 20 ms, keeping each change with its time. */
function watchBreaker(platform: TestPlatform, provider: string) {
  const changes: Array<{ at: number; open: boolean }> = [];
  let last = false;
  const timer = setInterval(async () => {
    const { values } = await platform.metrics.llmBreakerOpen.get();
    const open = values.find((value) => value.labels.provider === provider)?.value === 1;
    if (open !== last) changes.push({ at: Date.now(), open });
    last = open;
  }, 20);
  return {
    changes,
    firstAfter: (at: number, open: boolean) => changes.find((change) => change.at >= at && change.open === open)?.at,
    stop: () => clearInterval(timer),
  };
}

/** Waits for a reply to every message, then a little longer so a duplicate would have arrived too. */
async function settle(receiver: CallbackReceiver, messageIds: string[], timeoutMs: number): Promise<number> {
  await eventually(
    async () => (messageIds.every((id) => receiver.replies.has(id)) ? true : undefined),
    timeoutMs,
    'a reply to every message',
  ).catch(() => undefined);
  const at = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  return at;
}

const platformEnv = (llm: Record<string, string>) => ({
  ...llm,
  LLM_TIMEOUT_MS: String(TIMEOUT_MS),
  LLM_BREAKER_FAILURES: String(FAILURES),
  LLM_BREAKER_COOLDOWN_MS: String(COOLDOWN_MS),
  LLM_CACHE_TTL_SECONDS: '0',
  CUSTOM_WEBHOOK_SECRET: SECRET,
  CUSTOM_CALLBACK_ALLOWED_HOSTS: '127.0.0.1',
  PIPELINE_PROGRESS_DELAY_MS: '600000',
  // Every load message comes from one sender; the per-sender limit is not what this case measures.
  RATE_LIMIT_PER_USER_PER_MINUTE: '100000',
});

let receiver: CallbackReceiver;
let primary: Vendor;
let fallback: Vendor;
let solo: Vendor;
let platform: TestPlatform;

beforeAll(async () => {
  receiver = await startCallbackReceiver();
  [primary, fallback, solo] = await Promise.all([startVendor('primary'), startVendor('fallback'), startVendor('solo')]);
  platform = await startTestPlatform(
    platformEnv({
      LLM_BASE_URL: primary.fake.baseUrl,
      LLM_MODEL: 'primary-model',
      LLM_FALLBACK_BASE_URL: fallback.fake.baseUrl,
      LLM_FALLBACK_MODEL: 'fallback-model',
    }),
  );
}, 60_000);
afterAll(async () => {
  await platform?.stop();
  await Promise.all([primary, fallback, solo].map((vendor) => vendor?.fake.close()));
  await receiver?.close();
}, 60_000);

describe('the model vendor fails under load', () => {
  it('routes around a primary answering 503 within seconds, calls it only to probe, and returns to it', async () => {
    const OUTAGE_AT_MS = 2_000;
    const OUTAGE_MS = 12_000;
    const RATE = 4;
    const breaker = watchBreaker(platform, 'openai-compatible');
    const outage = vendorOutage(primary, OUTAGE_AT_MS, OUTAGE_MS);
    const { deliveries } = await runLoad({
      baseUrl: platform.apiUrl,
      secret: SECRET,
      callbackUrl: receiver.url,
      ratePerSecond: RATE,
      durationMs: 20_000,
      text,
      faults: outage.faults,
    });
    const { start: outageStart, end: outageEnd } = outage.window;
    const ids = deliveries.map((delivery) => delivery.messageId);
    await settle(receiver, ids, 20_000);
    breaker.stop();

    const outcome = summarise(deliveries, receiver.replies);
    const openedAt = breaker.firstAfter(outageStart, true);
    const closedAt = breaker.firstAfter(outageEnd, false);
    const duringOutage = primary.calls.filter((call) => call.at >= outageStart && call.at < outageEnd);
    const beforeOpen = duringOutage.filter((call) => openedAt === undefined || call.at < openedAt);
    const whileOpen = duringOutage.filter((call) => openedAt !== undefined && call.at >= openedAt);
    const firstAnswerBack = primary.calls.find((call) => call.at >= outageEnd && call.mode === 'up');
    const wrong = wrongReplies(receiver, ids, ['primary', 'fallback']);
    const byFallback = ids.filter((id) => receiver.texts.get(id)?.[0]?.startsWith('fallback')).length;
    console.error(
      `primary 503 for ${OUTAGE_MS} ms under ${RATE} msg/s: ${JSON.stringify(outcome)}; ` +
        `breaker open ${openedAt ? openedAt - outageStart : '-'} ms after the outage began, ` +
        `after ${beforeOpen.length} calls met the 503 (each failed over at once); ` +
        `${whileOpen.length} calls reached the primary while its breaker was open (probes; cool-down ${COOLDOWN_MS} ms); ` +
        `primary answering again ${firstAnswerBack ? firstAnswerBack.at - outageEnd : '-'} ms after it was back, ` +
        `breaker closed ${closedAt ? closedAt - outageEnd : '-'} ms after; ${byFallback} replies by the fallback; ` +
        `wrong or truncated replies ${wrong.length}`,
    );

    expect(outcome.unexpectedStatuses).toEqual([]);
    expect(outcome.acknowledged).toBe(outcome.messages);
    expect(outcome.missing).toBe(0);
    expect(outcome.duplicated).toBe(0);
    expect(wrong).toEqual([]);
    expect(openedAt).toBeDefined();
    expect(closedAt).toBeDefined();
    // Besides probes (one per cool-down) the dead primary is not called while its breaker is open.
    expect(whileOpen.length).toBeLessThanOrEqual(Math.ceil(OUTAGE_MS / COOLDOWN_MS) + 1);
    expect(byFallback).toBeGreaterThan(0);
  }, 90_000);

  it('fails over from answers that hang, break mid-body or are throttled, and delivers only whole answers', async () => {
    const RATE = 3;
    const breaker = watchBreaker(platform, 'openai-compatible');
    const marks: Record<string, number> = {};
    const phase = (name: string, mode: Mode) => () => {
      marks[name] = Date.now();
      primary.mode = mode;
    };
    const { deliveries } = await runLoad({
      baseUrl: platform.apiUrl,
      secret: SECRET,
      callbackUrl: receiver.url,
      ratePerSecond: RATE,
      durationMs: 17_000,
      text,
      // Each phase begins once the breaker has closed again after the one before (a probe after the cool-down).
      faults: [
        { atMs: 1_000, inject: phase('hang', 'hang') },
        { atMs: 4_000, inject: phase('hangEnd', 'up') },
        { atMs: 8_000, inject: phase('break', 'break') },
        { atMs: 11_000, inject: phase('breakEnd', 'up') },
        { atMs: 12_500, inject: phase('throttle', 'throttle') },
        { atMs: 13_000, inject: phase('throttleEnd', 'up') },
      ],
    });
    const ids = deliveries.map((delivery) => delivery.messageId);
    await settle(receiver, ids, 20_000);
    breaker.stop();

    const outcome = summarise(deliveries, receiver.replies);
    const between = (from: number, to: number) => primary.calls.filter((call) => call.at >= from && call.at < to);
    const hangOpenedAt = breaker.firstAfter(marks.hang!, true);
    const hung = between(marks.hang!, marks.hangEnd!).filter((call) => call.mode === 'hang');
    const hungBeforeOpen = hung.filter((call) => hangOpenedAt === undefined || call.at < hangOpenedAt);
    const broken = between(marks.break!, marks.breakEnd!).filter((call) => call.mode === 'break');
    const breakOpenedAt = breaker.firstAfter(marks.break!, true);
    const brokenBeforeOpen = broken.filter((call) => breakOpenedAt === undefined || call.at < breakOpenedAt);
    const throttled = between(marks.throttle!, marks.throttle! + COOLDOWN_MS);
    const afterThrottle = primary.calls.find((call) => call.at >= marks.throttle! && call.mode !== 'throttle');
    const wrong = wrongReplies(receiver, ids, ['primary', 'fallback']);
    console.error(
      `hang/break/throttle under ${RATE} msg/s: ${JSON.stringify(outcome)}; ` +
        `hang: breaker open ${hangOpenedAt ? hangOpenedAt - marks.hang! : '-'} ms after the first hanging answer, ` +
        `${hungBeforeOpen.length} calls waited out the ${TIMEOUT_MS} ms timeout before it opened, ${hung.length - hungBeforeOpen.length} probes after; ` +
        `break: ${broken.length} answers broken mid-body (${brokenBeforeOpen.length} before the breaker opened, ` +
        `${breakOpenedAt ? breakOpenedAt - marks.break! : '-'} ms after the first; the rest probes); ` +
        `throttle (Retry-After ${COOLDOWN_MS / 1000} s): ${throttled.length} calls in the next ${COOLDOWN_MS} ms, ` +
        `next call ${afterThrottle ? afterThrottle.at - marks.throttle! : '-'} ms after the 429; ` +
        `wrong or truncated replies ${wrong.length}`,
    );

    expect(outcome.unexpectedStatuses).toEqual([]);
    expect(outcome.acknowledged).toBe(outcome.messages);
    expect(outcome.missing).toBe(0);
    expect(outcome.duplicated).toBe(0);
    expect(wrong).toEqual([]);
    expect(hangOpenedAt).toBeLessThan(marks.hangEnd!);
    expect(breakOpenedAt).toBeLessThan(marks.breakEnd!);
    expect(broken.length - brokenBeforeOpen.length).toBeLessThanOrEqual(2);
    // The 429 asked for 3 s: the call that met it (or two that crossed), then nothing until the time was up.
    expect(throttled.length).toBeGreaterThanOrEqual(1);
    expect(throttled.length).toBeLessThanOrEqual(2);
    expect(afterThrottle!.at - marks.throttle!).toBeGreaterThanOrEqual(COOLDOWN_MS - 50);
  }, 90_000);

  it('with its only provider down entirely, runs wait without spending their attempts and answer once it is back', async () => {
    const OUTAGE_MS = 12_000;
    const RATE = 2;
    await platform.stop();
    platform = await startTestPlatform(platformEnv({ LLM_BASE_URL: solo.fake.baseUrl, LLM_MODEL: 'solo-model' }));
    const breaker = watchBreaker(platform, 'openai-compatible');
    solo.mode = 'down';
    const outageStart = Date.now();
    const restore = setTimeout(() => {
      solo.mode = 'up';
    }, OUTAGE_MS);
    const { deliveries } = await runLoad({
      baseUrl: platform.apiUrl,
      secret: SECRET,
      callbackUrl: receiver.url,
      ratePerSecond: RATE,
      durationMs: 8_000,
      text,
    });
    const ids = deliveries.map((delivery) => delivery.messageId);
    const lastReplyAt = await settle(receiver, ids, OUTAGE_MS + 20_000);
    clearTimeout(restore);
    breaker.stop();
    const outageEnd = outageStart + OUTAGE_MS;

    const outcome = summarise(deliveries, receiver.replies);
    const attempts = await Promise.all(
      ids.map((id) => modelAttempts(platform.temporal.workflow, messageWorkflowId('custom', id))),
    );
    const total = attempts.map((run) => run.classifyIntent + run.planNextStep + run.classifyAndPlan);
    const whileDown = solo.calls.filter((call) => call.at < outageEnd);
    const opens = breaker.changes.filter((change) => change.open && change.at < outageEnd).length;
    const wrong = wrongReplies(receiver, ids, ['solo']);
    console.error(
      `only provider down ${OUTAGE_MS} ms under ${RATE} msg/s for 8 s: ${JSON.stringify(outcome)}; ` +
        `${whileDown.length} calls reached it while down (breaker opened ${opens} times); ` +
        `model attempts per run (intent + plan) min ${Math.min(...total)} median ${total.sort((a, b) => a - b)[Math.floor(total.length / 2)]} max ${Math.max(...total)}; ` +
        `every reply in ${lastReplyAt - outageEnd} ms after it was back; polite failures or wrong replies ${wrong.length}`,
    );

    expect(outcome.unexpectedStatuses).toEqual([]);
    expect(outcome.acknowledged).toBe(outcome.messages);
    expect(outcome.missing).toBe(0);
    expect(outcome.duplicated).toBe(0);
    // Every run waited and answered with the model's answer: none gave up with the polite failure.
    expect(wrong).toEqual([]);
    // Spaced by the cool-down, not a busy loop: at most one attempt per cool-down, plus the backoff before it opened.
    expect(Math.max(...total)).toBeLessThanOrEqual(2 * (Math.ceil(OUTAGE_MS / COOLDOWN_MS) + 4));
    expect(whileDown.length).toBeLessThan(ids.length);
  }, 120_000);
});
