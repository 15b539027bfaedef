// Scenario 6, soak (issue 14, fault case 9): free-text six-step runs offered at a steady 2 msg/s for 30 minutes
// while the fake model answers each call after a delay drawn from a seeded log-normal (median 3 s, 1-20 s).
// Every process under test is sampled every 30 s (RSS, open fds, V8 heap and handles); reported: the RSS and fd
// slope of each process after a warm-up, reply latency per 5-minute window, and that every acknowledged message
// got exactly one reply. `--soak-minutes=N` shortens it, `--topology=prod` runs it on the production topology.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type BenchContext, signedMessage, tempDir } from '../support/context.js';
import { type LatencyModel, REALISTIC_MODEL_LATENCY } from '../support/latency.js';
import { postJson } from '../support/load.js';
import { offer } from '../support/pipeline-load.js';
import {
  type ProcessSample,
  type ProcessSeries,
  type SampledProcess,
  type Sampler,
  startSampler,
} from '../support/process-sampler.js';
import { startBenchLlm } from '../support/services.js';
import { startDev, startProduction, type UnderTest } from '../support/soak-systems.js';
import { leastSquaresSlope, type Summary, summarize } from '../support/stats.js';

export type SoakTopology = 'dev-server' | 'production';

/**
 * 2 msg/s: about 0.2 of the machine's 2 cores (a six-step run costs ~100 ms of CPU in all), so the soak
 * measures steady state rather than saturation, while about 26 runs and 25 model calls are in flight at any
 * moment (Little's law: 2 msg/s × ~13 s per run; 3 model calls of ~4.2 s mean each) and every 30-minute run
 * pushes 3,600 runs and 10,800 model calls through every process.
 */
export const SOAK_RATE = 2;

/**
 * A worker holds at most LLM_MAX_CONCURRENCY calls per provider in flight (16 by default): at ~25 concurrent
 * calls on average that would cap it near 1.3 runs/s, and the soak would measure a growing queue instead of a
 * steady state. A deployment facing a model this slow sizes the limit by the same arithmetic.
 */
const SOAK_LLM_MAX_CONCURRENCY = '64';

export interface SoakWindow {
  fromMinute: number;
  toMinute: number;
  /** Messages due in the window (by due time) that were acknowledged, and how many of them got their reply. */
  acknowledged: number;
  replied: number;
  /** Reply latency, from each message's due time to its reply at the receiver. */
  latency: Summary;
}

export interface ProcessTrend {
  name: string;
  pid: number | undefined;
  rssFirstMiB?: number;
  rssAfterWarmupMiB?: number;
  rssLastMiB?: number;
  rssMaxMiB?: number;
  /** Least-squares slope of RSS over the samples from the end of the warm-up to the end of the load. */
  rssSlopeMiBPerHour: number;
  /** The same over the second half of that span only: near zero when the memory has levelled off. */
  rssSlopeSecondHalfMiBPerHour: number;
  heapSlopeMiBPerHour?: number;
  fdFirst?: number;
  fdLast?: number;
  fdMax?: number;
  fdSlopePerHour: number;
  handlesFirst?: number;
  handlesLast?: number;
  handlesMax?: number;
  /** Temporal: workflow executions in its history cache at the start and the end of the load. */
  historyCacheFirst?: number;
  historyCacheLast?: number;
  /** Temporal: least-squares slope of RSS over the cache's entries after the warm-up (memory per cached run). */
  rssPerCacheEntryKiB?: number;
}

export interface SoakResult {
  topology: SoakTopology;
  rate: number;
  minutes: number;
  sampleSeconds: number;
  warmupMinutes: number;
  windowMinutes: number;
  latencyModel: LatencyModel;
  llmMaxConcurrency: number;
  modelCalls: number;
  modelDelayMs: Summary;
  acknowledged: number;
  ackErrors: number;
  firstError?: string;
  replied: number;
  missing: number;
  duplicated: number;
  progressNotices: number;
  replyLatency: Summary;
  windows: SoakWindow[];
  processes: ProcessTrend[];
  loadAverage: { first: number; mean: number; max: number };
  /** The raw samples and per-message figures, under bench/results/. */
  samplesFile: string;
}

export async function soak(ctx: BenchContext): Promise<SoakResult> {
  const topology: SoakTopology = ctx.soakTopology === 'prod' ? 'production' : 'dev-server';
  const minutes = ctx.soakMinutes ?? (ctx.quick ? 1 : 30);
  const sampleSeconds = minutes > 5 ? 30 : 5;
  const warmupMinutes = Math.min(5, minutes / 6);
  const windowMinutes = minutes >= 10 ? 5 : minutes / 4;
  const rate = SOAK_RATE;
  const llm = await startBenchLlm(REALISTIC_MODEL_LATENCY);
  const dir = await tempDir(ctx, `soak-${topology}`);
  const settings = { LLM_BASE_URL: llm.baseUrl, LLM_MAX_CONCURRENCY: SOAK_LLM_MAX_CONCURRENCY };
  let system: UnderTest | undefined;
  let sampler: Sampler | undefined;
  let ticker: NodeJS.Timeout | undefined;
  try {
    system = topology === 'production' ? await startProduction(ctx, dir, settings) : await startDev(ctx, dir, settings);
    const url = `${system.url}/webhooks/custom`;
    const send = async (messageId: string) => {
      const { body, headers } = signedMessage(ctx, messageId);
      const answer = await postJson(url, body, headers);
      if (answer.status !== 202) throw new Error(`HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
    };
    const processes: SampledProcess[] = [
      ...system.processes,
      { name: 'bench (load, fake LLM, receiver)', pid: process.pid },
    ];
    ctx.progress(
      `soak (${topology}): ${rate} msg/s for ${minutes} min, sampling ${processes.map((p) => `${p.name} ${p.pid}`).join(', ')}`,
    );
    const origin = performance.now();
    sampler = startSampler(processes, sampleSeconds * 1000, origin);
    await sampler.sampleNow();
    const notices = ctx.receiver.progressNotices;
    const series = sampler.series;
    ticker = setInterval(() => {
      const elapsed = (performance.now() - origin) / 60_000;
      const latest = series
        .map((s) => ({ name: s.name, last: s.samples.at(-1) }))
        .map(({ name, last }) => `${name} ${Math.round(last?.rssMiB ?? Number.NaN)} MiB ${last?.fds ?? '?'} fds`);
      ctx.progress(
        `soak: ${elapsed.toFixed(0)} of ${minutes} min, ${ctx.receiver.replies.size} replies; ${latest.join(', ')}`,
      );
    }, 60_000);
    const count = Math.round(rate * minutes * 60);
    const batch = await offer(ctx, { prefix: `soak-${ctx.runTag}`, rate, count, send, quietMs: 180_000 });
    clearInterval(ticker);
    const loadEndSeconds = (batch.startedAt - origin) / 1000 + count / rate;
    // A late duplicate would come after the last first reply: give it a moment, then take the closing sample.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await sampler.sampleNow();
    await sampler.stop();

    const dueSeconds = (id: string) => (batch.dueAt.get(id)! - batch.startedAt) / 1000;
    const latencyOf = (id: string) => {
      const reply = ctx.receiver.replies.get(id);
      return reply ? reply.at - batch.dueAt.get(id)! : undefined;
    };
    const windows: SoakWindow[] = [];
    for (let from = 0; from < minutes - 1e-9; from += windowMinutes) {
      const to = Math.min(minutes, from + windowMinutes);
      const inWindow = batch.ackedIds.filter((id) => dueSeconds(id) >= from * 60 && dueSeconds(id) < to * 60);
      const latencies = inWindow.map(latencyOf).filter((value): value is number => value !== undefined);
      windows.push({
        fromMinute: from,
        toMinute: to,
        acknowledged: inWindow.length,
        replied: latencies.length,
        latency: summarize(latencies),
      });
    }
    const duplicated = batch.ids.reduce((total, id) => total + (ctx.receiver.duplicates.get(id) ?? 0), 0);
    const trends = sampler.series.map((series) => trend(series, warmupMinutes * 60, loadEndSeconds));
    const loads = sampler.load.map((entry) => entry.load1);

    const resultsDir = join(ctx.projectRoot, 'bench/results');
    await mkdir(resultsDir, { recursive: true });
    const samplesFile = join(resultsDir, `soak-${topology}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    const result: SoakResult = {
      topology,
      rate,
      minutes,
      sampleSeconds,
      warmupMinutes,
      windowMinutes,
      latencyModel: REALISTIC_MODEL_LATENCY,
      llmMaxConcurrency: Number(SOAK_LLM_MAX_CONCURRENCY),
      modelCalls: llm.delaysMs.length,
      modelDelayMs: summarize(llm.delaysMs),
      acknowledged: batch.acked,
      ackErrors: batch.ackErrors,
      firstError: batch.firstError,
      replied: batch.replyTimes.length,
      missing: batch.missing.length,
      duplicated,
      progressNotices: ctx.receiver.progressNotices - notices,
      replyLatency: summarize(batch.replyLatencies),
      windows,
      processes: trends,
      loadAverage: {
        first: loads[0] ?? Number.NaN,
        mean: loads.reduce((a, b) => a + b, 0) / Math.max(1, loads.length),
        max: Math.max(...loads),
      },
      samplesFile,
    };
    await writeFile(
      samplesFile,
      `${JSON.stringify(
        {
          result,
          loadEndSeconds,
          load: sampler.load,
          series: sampler.series,
          messages: batch.ackedIds.map((id) => ({ id, dueSeconds: dueSeconds(id), replyLatencyMs: latencyOf(id) })),
        },
        null,
        1,
      )}\n`,
    );
    ctx.progress(`soak: raw samples in ${samplesFile}`);
    return result;
  } finally {
    clearInterval(ticker);
    await sampler?.stop();
    await system?.stop();
    await llm.close();
  }
}

function trend(series: ProcessSeries, warmupSeconds: number, loadEndSeconds: number): ProcessTrend {
  const all = series.samples;
  const steady = all.filter((s) => s.at >= warmupSeconds && s.at <= loadEndSeconds + 1);
  const halfway = (warmupSeconds + loadEndSeconds) / 2;
  const slope = (pick: (s: ProcessSample) => number | undefined, from = warmupSeconds) => {
    const points = steady.filter((s) => s.at >= from && pick(s) !== undefined);
    return leastSquaresSlope(
      points.map((s) => s.at / 3600),
      points.map((s) => pick(s)!),
    );
  };
  const values = (pick: (s: ProcessSample) => number | undefined) =>
    all.map(pick).filter((value): value is number => value !== undefined);
  const inLoad = all.filter((s) => s.at <= loadEndSeconds + 1);
  const rss = values((s) => s.rssMiB);
  const fds = values((s) => s.fds);
  const handles = values((s) => s.activeHandles);
  const heap = slope((s) => s.heapUsedMiB);
  const cached = steady.filter((s) => s.historyCacheEntries !== undefined && s.rssMiB !== undefined);
  const perEntry = leastSquaresSlope(
    cached.map((s) => s.historyCacheEntries!),
    cached.map((s) => s.rssMiB! * 1024),
  );
  return {
    name: series.name,
    pid: series.pid,
    rssFirstMiB: rss[0],
    rssAfterWarmupMiB: steady[0]?.rssMiB,
    rssLastMiB: inLoad.at(-1)?.rssMiB,
    rssMaxMiB: rss.length ? Math.max(...rss) : undefined,
    rssSlopeMiBPerHour: slope((s) => s.rssMiB),
    rssSlopeSecondHalfMiBPerHour: slope((s) => s.rssMiB, halfway),
    heapSlopeMiBPerHour: Number.isFinite(heap) ? heap : undefined,
    fdFirst: fds[0],
    fdLast: inLoad.at(-1)?.fds,
    fdMax: fds.length ? Math.max(...fds) : undefined,
    fdSlopePerHour: slope((s) => s.fds),
    handlesFirst: handles[0],
    handlesLast: inLoad.at(-1)?.activeHandles,
    handlesMax: handles.length ? Math.max(...handles) : undefined,
    historyCacheFirst: all.find((s) => s.historyCacheEntries !== undefined)?.historyCacheEntries,
    historyCacheLast: inLoad.at(-1)?.historyCacheEntries,
    rssPerCacheEntryKiB: Number.isFinite(perEntry) ? perEntry : undefined,
  };
}
