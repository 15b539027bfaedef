// Scenario 2, e2e: six-step runs (verify, parse, intent, plan with a tool call, the echo tool, plan with the
// answer, reply) through the real webhook, Temporal, PostgreSQL and the fake LLM, with the reply posted to the
// callback receiver. Measured: reply latency and orchestration overhead at 10 msg/s (and 5 and 20), completed runs
// per second when 500 messages are offered at once, and what a run costs Temporal (history events, persistence
// writes, CPU per process); the same for `/echo` command runs, which are also answered through `?wait`. A default
// run makes three interleaved rounds of both, for medians. Worker tuning, one process and eager workflow start
// are variants run by name (--variants).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Client } from '@temporalio/client';
import type { PlatformOptions } from '../../scripts/conduit.js';
import {
  type BenchContext,
  benchClient,
  cpuMs,
  databaseCommits,
  instanceEnv,
  postgresCpuMs,
  signedMessage,
  tempDir,
} from '../support/context.js';
import { type Instance, startInstance } from '../support/instances.js';
import { openLoop, postJson } from '../support/load.js';
import {
  type HistoryShape,
  historyShape,
  insidePerRunMs,
  offer,
  type PersistencePerRun,
  persistencePerRun,
  type ReplyPhase,
  replyPhase,
  type Throughput,
  throughput,
} from '../support/pipeline-load.js';
import { type BenchTemporal, delta, readRss, scrape, startBenchTemporal } from '../support/services.js';
import { type Summary, summarize } from '../support/stats.js';

export interface LatencyPhase extends ReplyPhase {
  /** "Working on it" notices sent because a reply took longer than PIPELINE_PROGRESS_DELAY_MS. */
  progressNotices: number;
  inside: ReturnType<typeof insidePerRunMs>;
  /** With --sdk-metrics: the Temporal SDK's latency histograms, milliseconds per run and observations per run. */
  sdk?: Record<string, { msPerRun: number; perRun: number }>;
  /** With --sdk-metrics: the dev server's own latencies (persistence by operation, task queues), mean ms and count per run. */
  server?: Record<string, { meanMs: number; perRun: number }>;
}

/** The same messages at the same rate sent with `?wait`: the run's answer in the webhook's own response. */
export interface WaitPhase {
  rate: number;
  offered: number;
  /** Answered 200 with the run's reply before the wait ran out. */
  answered: number;
  errors: number;
  firstError?: string;
  /** From each request's due time to its answer. */
  latency: Summary;
}

export interface SaturationPhase extends Throughput {
  offerRate: number;
  progressNotices: number;
  missing: number;
  duplicateReplies: number;
  ackErrors: number;
  /** CPU milliseconds per completed run, per process. */
  cpuMsPerRun: { api?: number; worker?: number; temporal?: number; postgres?: number; bench?: number };
  persistence?: PersistencePerRun;
  /** PostgreSQL transactions (≈ statements) per completed run, from pg_stat_database. */
  dbCommitsPerRun?: number;
  workerRssMiB?: number;
}

export interface VariantResult {
  name: string;
  description: string;
  /** Steady load at LATENCY_RATE, below saturation on the reference machine, so variants can be compared. */
  latency: LatencyPhase;
  /** The default variant also at 5 and 20 msg/s (the target's rate): the latency-versus-load chart. */
  sweep: LatencyPhase[];
  saturation: SaturationPhase;
  /** Variants with a command text: the reply through `?wait` at LATENCY_RATE. */
  wait?: WaitPhase;
  eager?: { started: number; eagerlyStarted: number };
  /** Which round of --repeat this was (1 when not repeated). */
  round: number;
  /** Runs of this variant's steady phase (every variant but default, whose history is E2eResult's). */
  history?: HistoryShape;
}

export interface E2eResult {
  variants: VariantResult[];
  /** Runs of the default variant's steady 20 msg/s phase. */
  history: HistoryShape;
  /** Runs of the default variant's saturation burst. */
  burstHistory: HistoryShape;
  workerStartPlatformMs: number;
  apiStartPlatformMs: number;
}

interface Variant {
  name: string;
  description: string;
  /** API and worker as separate processes (the production shape), or both in one. */
  split: boolean;
  tuning?: PlatformOptions['workerTuning'];
  eager?: boolean;
  /** Run the code of --before=<checkout> instead of this tree's. */
  before?: boolean;
  /** The message text (default: free text, a six-step run). */
  text?: string;
  /** Only run when named in --variants. */
  onRequest?: boolean;
  /** Also measure the reply through `?wait` (a command run answers in the webhook's response). */
  wait?: boolean;
}

/** A command run: no model, no tool; the reply comes from the workflow itself. */
const COMMAND_TEXT = '/echo ping';

/** Every variant's steady-load rate; the default variant adds 5 and 20 msg/s. */
export const LATENCY_RATE = 10;

/** Rounds of the default run's variants, interleaved, so its figures are medians (--repeat overrides). */
export const DEFAULT_ROUNDS = 3;

/** Seconds the API holds a `?wait` webhook open for the run's answer (it caps the wait at 60). */
const WAIT_SECONDS = 30;

const VARIANTS: Variant[] = [
  { name: 'default', description: 'API and worker processes, SDK default tuning', split: true },
  {
    name: 'command',
    description: '/echo run (no model, the reply from the workflow), also answered through ?wait',
    split: true,
    text: COMMAND_TEXT,
    wait: true,
  },
  // Tuning and eager start measured in round one (docs/benchmarks.md: neither helped); run them by name.
  {
    name: 'fewer-slots',
    description: 'maxConcurrentWorkflowTaskExecutions 8, maxConcurrentActivityTaskExecutions 16, local 16',
    onRequest: true,
    split: true,
    tuning: {
      maxConcurrentWorkflowTaskExecutions: 8,
      maxConcurrentActivityTaskExecutions: 16,
      maxConcurrentLocalActivityExecutions: 16,
    },
  },
  {
    name: 'more-slots',
    description: 'maxConcurrentWorkflowTaskExecutions 200, activities 400, local 400, maxCachedWorkflows 5000',
    onRequest: true,
    split: true,
    tuning: {
      maxConcurrentWorkflowTaskExecutions: 200,
      maxConcurrentActivityTaskExecutions: 400,
      maxConcurrentLocalActivityExecutions: 400,
      maxCachedWorkflows: 5000,
    },
  },
  // The SDK's resource-based slot suppliers: slots handed out while the machine's CPU and memory stay under target.
  {
    name: 'resource-tuner',
    description: 'resource-based slot suppliers (tuner), target CPU 0.8 and memory 0.8',
    onRequest: true,
    split: true,
    tuning: { tuner: { tunerOptions: { targetCpuUsage: 0.8, targetMemoryUsage: 0.8 } } },
  },
  {
    name: 'one-process',
    description: 'API and worker in one process, default tuning',
    split: false,
    onRequest: true,
  },
  {
    name: 'one-process-eager',
    description: 'as one-process, runs started with eager workflow start (requestEagerStart)',
    split: false,
    eager: true,
    onRequest: true,
  },
  // A command run is one workflow task: eager start would hand over its only dispatch.
  {
    name: 'command-one-process',
    description: '/echo run, API and worker in one process',
    split: false,
    text: COMMAND_TEXT,
    onRequest: true,
  },
  {
    name: 'command-one-process-eager',
    description: '/echo run, as command-one-process, started with eager workflow start (requestEagerStart)',
    split: false,
    text: COMMAND_TEXT,
    eager: true,
    onRequest: true,
  },
  // Before/after pairs for one change, with --before=<checkout of the code before it> (and --repeat=3).
  { name: 'six-step', description: 'six-step run, this tree', split: true, onRequest: true },
  {
    name: 'six-step-before',
    description: 'six-step run, the --before tree',
    split: true,
    before: true,
    onRequest: true,
  },
  {
    name: 'command-before',
    description: '/echo run, the --before tree',
    split: true,
    text: COMMAND_TEXT,
    before: true,
    onRequest: true,
  },
];

export async function e2e(ctx: BenchContext): Promise<E2eResult> {
  const dir = await tempDir(ctx, 'e2e');
  // One dev server for every variant, unless each round brings its own (--own-dev-server).
  const common = ctx.ownDevServer ? undefined : await connectedTemporal(ctx, ctx.projectRoot, dir);
  // The one-process variants share one instance: the same process serves both ingress paths.
  let shared: Instance | undefined;
  try {
    const variants: VariantResult[] = [];
    let history: HistoryShape | undefined;
    let burstHistory: HistoryShape | undefined;
    let startup = { worker: Number.NaN, api: Number.NaN };
    const chosen = ctx.variants
      ? ctx.variants.flatMap((name) => VARIANTS.filter((v) => v.name === name))
      : ctx.quick
        ? VARIANTS.filter((v) => v.name === 'default' || v.name === 'command')
        : VARIANTS.filter((v) => !v.onRequest);
    if (chosen.some((v) => v.before) && !ctx.beforeRoot) throw new Error('*-before variants need --before=<checkout>');
    if (ctx.ownDevServer && chosen.some((v) => !v.split)) {
      throw new Error('--own-dev-server needs variants with their own API and worker processes (split)');
    }
    const rounds = Array.from(
      { length: ctx.repeat ?? (ctx.quick || ctx.variants ? 1 : DEFAULT_ROUNDS) },
      (_, i) => i + 1,
    );
    for (const [round, variant] of rounds.flatMap((r) => chosen.map((v) => [r, v] as const))) {
      ctx.progress(`e2e: variant ${variant.name}${rounds.length > 1 ? ` (round ${round})` : ''}`);
      const label = rounds.length > 1 ? `${variant.name}-${round}` : variant.name;
      const taskQueue = `bench-e2e-${variant.split ? label : 'one-process'}-${ctx.runTag}`;
      // The instances of a *-before variant run the other checkout's code; everything else is shared.
      const code = variant.before ? { ...ctx, projectRoot: ctx.beforeRoot! } : ctx;
      const own = ctx.ownDevServer ? await connectedTemporal(ctx, code.projectRoot, `${dir}/${label}`) : undefined;
      const { server: temporal, client } = own ?? common!;
      let instances: Instance[];
      if (variant.split) {
        const api = await startInstance(
          code,
          `e2e-${label}-api`,
          { worker: false, api: true },
          await instanceEnv(ctx, temporal.address, taskQueue, `${dir}/${label}-api`),
          dir,
        );
        const worker = await startInstance(
          code,
          `e2e-${label}-worker`,
          { worker: true, api: false, tuning: variant.tuning },
          await instanceEnv(ctx, temporal.address, taskQueue, `${dir}/${label}-worker`),
          dir,
        );
        instances = [api, worker];
        if (variant.name === 'default' && round === 1) {
          startup = { worker: worker.startPlatformMs, api: api.startPlatformMs };
        }
      } else {
        shared ??= await startInstance(
          ctx,
          'e2e-one-process',
          { worker: true, api: true, eagerIngress: true },
          await instanceEnv(ctx, temporal.address, taskQueue, `${dir}/one-process`),
          dir,
        );
        instances = [shared];
      }
      try {
        const result = await measureVariant(ctx, variant, temporal, instances, round, label);
        if (variant.name !== 'default' || round > 1) {
          result.history = await historyShape(
            client,
            Array.from({ length: 5 }, (_, i) => `e2e-${ctx.runTag}-${label}-r${LATENCY_RATE}-${i * 3}`),
          );
        }
        variants.push(result);
        if (variant.name === 'default' && round === 1) {
          history = await historyShape(
            client,
            Array.from({ length: 10 }, (_, i) => `e2e-${ctx.runTag}-${label}-r${LATENCY_RATE}-${i * 3}`),
          );
          burstHistory = await historyShape(
            client,
            Array.from({ length: 20 }, (_, i) => `e2e-${ctx.runTag}-${label}-sat-${i * 5}`),
          );
        }
      } finally {
        if (variant.split) await Promise.all(instances.map((instance) => instance.stop()));
        await own?.stop();
      }
    }
    return {
      variants,
      history: history ?? { sampled: 0, eventsPerRun: Number.NaN, byType: {}, problems: {} },
      burstHistory: burstHistory ?? { sampled: 0, eventsPerRun: Number.NaN, byType: {}, problems: {} },
      workerStartPlatformMs: startup.worker,
      apiStartPlatformMs: startup.api,
    };
  } finally {
    await shared?.stop();
    await common?.stop();
  }
}

interface ConnectedTemporal {
  server: BenchTemporal;
  client: Client;
  stop(): Promise<void>;
}

/** A dev server started by `codeRoot`'s own bench support (another checkout's for `*-before`), with a client. */
async function connectedTemporal(ctx: BenchContext, codeRoot: string, dataDir: string): Promise<ConnectedTemporal> {
  const start: typeof startBenchTemporal =
    codeRoot === ctx.projectRoot
      ? startBenchTemporal
      : (await import(pathToFileURL(join(codeRoot, 'bench/support/services.ts')).href)).startBenchTemporal;
  const server = await start(codeRoot, dataDir, ctx.progress, ctx.devServerArgs);
  const { client, close } = await benchClient(ctx, server.address);
  return {
    server,
    client,
    stop: async () => {
      await close();
      await server.stop();
    },
  };
}

async function measureVariant(
  ctx: BenchContext,
  variant: Variant,
  temporal: BenchTemporal,
  instances: Instance[],
  round: number,
  label: string,
): Promise<VariantResult> {
  const api = instances.find((i) => i.apiUrl)!;
  const worker = instances.find((i) => i.name.endsWith('worker')) ?? instances[0]!;
  const url = variant.eager ? api.eagerUrl! : `${api.apiUrl}/webhooks/custom`;
  const send = async (messageId: string) => {
    const { body, headers } = signedMessage(ctx, messageId, { text: variant.text });
    const answer = await postJson(url, body, headers);
    if (answer.status !== 202) throw new Error(`HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
  };
  const prefix = `e2e-${ctx.runTag}-${label}`;

  // Warm-up (JIT, connection pools, the workflow cache), long enough that variants started fresh compare fairly.
  await offer(ctx, { prefix: `${prefix}-warm`, rate: 10, count: ctx.quick ? 10 : 80, send, quietMs: 60_000 });

  // Steady load: reply latency, and the overhead beyond the time spent inside the model and the tool.
  const steadyPhase = async (rate: number, seconds: number): Promise<LatencyPhase> => {
    const metricsBefore = await scrape(worker.metricsUrl);
    const sdkBefore = await scrape(worker.sdkMetricsUrl);
    const serverBefore = ctx.sdkMetrics ? await scrape(temporal.metricsUrl) : new Map<string, number>();
    const notices = ctx.receiver.progressNotices;
    const phase = await offer(ctx, { prefix: `${prefix}-r${rate}`, rate, count: rate * seconds, send });
    const runs = Math.max(1, phase.replyTimes.length);
    const inside = insidePerRunMs(await scrape(worker.metricsUrl), metricsBefore, runs);
    const sdkAfter = await scrape(worker.sdkMetricsUrl);
    const sdk: Record<string, { msPerRun: number; perRun: number }> = {};
    for (const key of sdkAfter.keys()) {
      const name = /^(temporal_\w+)_sum$/.exec(key)?.[1];
      const count = name ? delta(sdkAfter, sdkBefore, `${name}_count`) : 0;
      if (name && count > 0) {
        sdk[name] = { msPerRun: (delta(sdkAfter, sdkBefore, key) * 1000) / runs, perRun: count / runs };
      }
    }
    const server: Record<string, { meanMs: number; perRun: number }> = {};
    if (ctx.sdkMetrics) {
      const serverAfter = await scrape(temporal.metricsUrl);
      for (const key of serverAfter.keys()) {
        const match = /^(persistence_latency|task_latency\w*|service_latency)_sum(\{\w+=\w+\})?$/.exec(key);
        if (!match) continue;
        const count = delta(serverAfter, serverBefore, key.replace('_sum', '_count'));
        if (count / runs < 0.5) continue;
        server[key.replace('_sum', '')] = {
          meanMs: (delta(serverAfter, serverBefore, key) * 1000) / count,
          perRun: count / runs,
        };
      }
    }
    return {
      ...(worker.sdkMetricsUrl ? { sdk, server } : {}),
      ...replyPhase(rate, phase, inside.insideMsPerRun),
      progressNotices: ctx.receiver.progressNotices - notices,
      inside,
    };
  };
  const seconds = ctx.quick ? 3 : 10;
  const latency = await steadyPhase(LATENCY_RATE, ctx.quick ? 3 : variant.name === 'default' ? 10 : 6);
  const sweep: LatencyPhase[] = [latency];
  if (variant.name === 'default' && round === 1) {
    for (const rate of ctx.quick ? [20] : [5, 20]) sweep.push(await steadyPhase(rate, seconds));
  }
  sweep.sort((a, b) => a.rate - b.rate);
  const wait = variant.wait ? await waitPhase(ctx, variant, api, `${prefix}-wait`) : undefined;

  // Saturation: a burst offered far faster than it can be served.
  // 500 for the headline figure; fewer for the variants, which are compared with each other.
  const count = ctx.quick ? 100 : variant.name === 'default' ? 500 : 200;
  const offerRate = ctx.quick ? 200 : 500;
  const pids = { api: api.pid, worker: worker.pid, temporal: temporal.pid };
  const cpuBefore = await Promise.all([cpuMs(pids.api), cpuMs(pids.worker), cpuMs(pids.temporal)]);
  const benchCpu = process.cpuUsage();
  const commitsBefore = await databaseCommits(ctx);
  const postgresBefore = await postgresCpuMs();
  const temporalBefore = await scrape(temporal.metricsUrl);
  const notices = ctx.receiver.progressNotices;
  const burst = await offer(ctx, { prefix: `${prefix}-sat`, rate: offerRate, count, send, quietMs: 240_000 });
  const temporalAfter = await scrape(temporal.metricsUrl);
  const cpuAfter = await Promise.all([cpuMs(pids.api), cpuMs(pids.worker), cpuMs(pids.temporal)]);
  const benchCpuUsed = process.cpuUsage(benchCpu);
  const postgresUsed = (await postgresCpuMs()) - postgresBefore;
  const commits = (await databaseCommits(ctx)) - commitsBefore;
  const completed = burst.replyTimes.length;
  const perRun = (i: number) =>
    cpuBefore[i] !== undefined && cpuAfter[i] !== undefined ? (cpuAfter[i]! - cpuBefore[i]!) / completed : undefined;
  const rss = await readRss(worker.pid);
  const eager = variant.eager
    ? ((await (await fetch(api.eagerUrl!)).json()) as { started: number; eagerlyStarted: number })
    : undefined;
  return {
    name: variant.name,
    description: variant.description,
    round,
    latency,
    sweep,
    saturation: {
      ...throughput(burst),
      offerRate,
      progressNotices: ctx.receiver.progressNotices - notices,
      missing: burst.missing.length,
      duplicateReplies: burst.duplicateReplies,
      ackErrors: burst.ackErrors,
      cpuMsPerRun: {
        ...(variant.split ? { api: perRun(0) } : {}),
        worker: perRun(1),
        temporal: perRun(2),
        postgres: postgresUsed / Math.max(1, completed),
        bench: (benchCpuUsed.user + benchCpuUsed.system) / 1000 / Math.max(1, completed),
      },
      dbCommitsPerRun: commits / Math.max(1, completed),
      persistence: temporal.metricsUrl ? persistencePerRun(temporalAfter, temporalBefore, completed) : undefined,
      workerRssMiB: rss ? rss.rss / 2 ** 20 : undefined,
    },
    wait,
    eager,
  };
}

/** The variant's messages at LATENCY_RATE with `?wait`: how long a client waits for the answer itself. */
async function waitPhase(ctx: BenchContext, variant: Variant, api: Instance, prefix: string): Promise<WaitPhase> {
  const url = `${api.apiUrl}/webhooks/custom?wait=${WAIT_SECONDS}`;
  const count = LATENCY_RATE * (ctx.quick ? 3 : 10);
  const { outcomes } = await openLoop({
    ratePerSecond: LATENCY_RATE,
    count,
    send: async (i) => {
      const { body, headers } = signedMessage(ctx, `${prefix}-${i}`, { callback: false, text: variant.text });
      const answer = await postJson(url, body, headers, (WAIT_SECONDS + 15) * 1000);
      // 202 means the wait ran out before the run answered: not an answer.
      if (answer.status !== 200) throw new Error(`HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
    },
  });
  const answered = outcomes.filter((o) => o.ok);
  return {
    rate: LATENCY_RATE,
    offered: count,
    answered: answered.length,
    errors: count - answered.length,
    firstError: outcomes.find((o) => !o.ok)?.error,
    latency: summarize(answered.map((o) => o.latencyMs)),
  };
}
