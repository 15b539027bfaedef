// Issue 14, case 4 on the production topology (test/support/prod-fault-stack.ts: the Temporal server on PostgreSQL, two
// API processes behind nginx, two workers): the model vendor fails under steady load of free-text messages through
// nginx, each costing an intent and a planning call. Two fake OpenAI-compatible vendors (real HTTP,
// test/support/model-vendors.ts) are the primary and the fallback; the primary answers 503 for 12 s, then hangs,
// breaks its answers mid-body and throttles with Retry-After; then both are down for 12 s. Times are compressed as on
// the npm start topology (test/faults/model-outage.test.ts): a 30 s breaker cool-down and a 10-minute outage become
// 3 s and 12 s. Each worker keeps its own breakers, so each calls the vendors with its own API key and the fakes
// count the workers apart: per worker, calls that met the fault, probes while its breaker was open, attempts a run
// spent while it waited.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageWorkflowId } from '../../runs/contract.js';
import { runLoad, summarise } from '../support/fault-load.js';
import {
  loadText,
  modelAttempts,
  startVendor,
  type Vendor,
  type VendorMode,
  vendorOutage,
  wrongReplies,
} from '../support/model-vendors.js';
import { type FaultStack, startFaultStack } from '../support/prod-fault-stack.js';

const COOLDOWN_MS = 3_000;
const FAILURES = 3;
const TIMEOUT_MS = 2_000;
const WORKERS = ['worker-1', 'worker-2'];

let faults: FaultStack;
let primary: Vendor;
let fallback: Vendor;

beforeAll(async () => {
  const options = { retryAfterSeconds: COOLDOWN_MS / 1000 };
  [primary, fallback] = await Promise.all([startVendor('primary', options), startVendor('fallback', options)]);
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
      // Every load message comes from one sender; the per-sender limit is not what this case measures.
      RATE_LIMIT_PER_USER_PER_MINUTE: '100000',
    },
    // Each worker calls the vendors with its own key: the fakes count the workers' calls apart.
    processEnv: (name): Record<string, string> =>
      name.startsWith('worker-') ? { LLM_API_KEY: name, LLM_FALLBACK_API_KEY: name } : {},
  });
}, 240_000);

afterAll(async () => {
  await faults?.close();
  await Promise.all([primary?.fake.close(), fallback?.fake.close()]);
}, 120_000);

/** Samples each worker's conduit_llm_breaker_open for the primary every 50 ms, keeping each change with its time. */
function watchBreakers() {
  const changes = new Map<string, Array<{ at: number; open: boolean }>>(WORKERS.map((worker) => [worker, []]));
  const last = new Map<string, boolean>();
  const timer = setInterval(() => {
    for (const worker of faults.stack.workers) {
      faults
        .metric(worker.url, 'conduit_llm_breaker_open{provider="openai-compatible"}')
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
    const outage = vendorOutage(primary, OUTAGE_AT_MS, OUTAGE_MS);
    const { deliveries } = await runLoad({
      ...faults.through,
      ratePerSecond: RATE,
      durationMs: 20_000,
      text: loadText,
      faults: outage.faults,
    });
    const { start: outageStart, end: outageEnd } = outage.window;
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
      ...faults.through,
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
    const { deliveries } = await runLoad({ ...faults.through, ratePerSecond: RATE, durationMs: 8_000, text: loadText });
    const ids = deliveries.map((delivery) => delivery.messageId);
    await faults.waitForReplies(ids, OUTAGE_MS + 30_000);
    clearTimeout(restore);
    breakers.stop();
    const outageEnd = outageStart + OUTAGE_MS;
    const lastReplyAt = Math.max(...ids.map((id) => faults.receiver.firstReplyAt.get(id) ?? 0));

    const outcome = summarise(deliveries, faults.receiver.replies);
    const workflowClient = await faults.workflows();
    const attempts = await Promise.all(ids.map((id) => modelAttempts(workflowClient, messageWorkflowId('custom', id))));
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
