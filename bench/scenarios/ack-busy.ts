// Issue 12, "ack p99 with the worker busy": Conduit started as `npm start` starts it (scripts/start.ts as a child
// of the bench, embedded Temporal dev server, one Conduit process), its worker kept saturated by a background load
// of six-step free-text runs, while signed custom webhooks are offered at 25, 50, 100 and 200 msg/s and each
// acknowledgement is timed from its due time. Run only when named (--scenario=ack-busy).
// Variants: `pglite` (no DATABASE_URL, the embedded PGlite, as on a fresh machine) and `postgres` (the machine's
// PostgreSQL), each also as `*-before` from --before=<checkout>; --repeat=N interleaves the rounds.
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../platform/free-port.js';
import { nodeProcessEnv } from '../../platform/node-process-env.js';
import { type BenchContext, benchPinnedEnv, signedMessage, tempDir } from '../support/context.js';
import { openLoop, postJson } from '../support/load.js';
import { treeCpu } from '../support/process-tree.js';
import { scrape } from '../support/services.js';
import { median, type Summary, summarize } from '../support/stats.js';

/** The rate of six-step runs offered in the background: above what one `npm start` completes on 2 cores. */
const BACKGROUND_RATE = 10;
/**
 * The target's 200 msg/s and 100; and 25 and 50, which the acknowledgements alone fit into even when the machine
 * is shared (an ack costs the API and the dev server about 7 ms of CPU), so what they show is the worker's effect.
 */
const RATES = [25, 50, 100, 200];

export interface AckBusyPhase {
  rate: number;
  sent: number;
  errors: number;
  firstError?: string;
  ack: Summary;
  /** Six-step background runs that replied during the phase, per second: the worker was working. */
  backgroundRepliesPerSecond: number;
  /**
   * Mean time inside the API's webhook handler (conduit_http_request_duration_seconds: verify, parse, the
   * Temporal start, the answer), against the client's latency: the rest is queueing before the handler ran.
   */
  handlerMeanMs?: number;
  /** The Conduit process's main-thread event loop delay p99 over the phase (prom-client's default metric). */
  eventLoopLagP99Ms?: number;
  /** CPU ms per second of the Conduit process tree (the npm start process, its threads and children). */
  cpuMsPerSecond: number;
}

export interface AckBusyRound {
  variant: string;
  round: number;
  database: 'pglite' | 'postgres';
  startMs: number;
  phases: AckBusyPhase[];
}

export interface AckBusyResult {
  backgroundRate: number;
  seconds: number;
  rounds: AckBusyRound[];
  /** Per variant and rate: the medians over the rounds of p50 and p99. */
  medians: Array<{ variant: string; rate: number; p50: number; p99: number; p99s: number[] }>;
}

interface Variant {
  name: string;
  database: 'pglite' | 'postgres';
  before?: boolean;
  /** Only run when named in --variants. */
  onRequest?: boolean;
}

/** Rounds of a default run, for medians (issue 12's targets are medians of at least 3). */
const DEFAULT_ROUNDS = 3;

const VARIANTS: Variant[] = [
  // What `npm install && npm start` runs with zero configuration: the target's figure, in every default run.
  { name: 'pglite', database: 'pglite' },
  { name: 'postgres', database: 'postgres', onRequest: true },
  { name: 'pglite-before', database: 'pglite', before: true },
  { name: 'postgres-before', database: 'postgres', before: true },
];

export async function ackBusy(ctx: BenchContext): Promise<AckBusyResult> {
  const chosen = ctx.variants
    ? ctx.variants.flatMap((name) => VARIANTS.filter((v) => v.name === name))
    : VARIANTS.filter((v) => !v.before && !v.onRequest);
  if (chosen.some((v) => v.before) && !ctx.beforeRoot) throw new Error('*-before variants need --before=<checkout>');
  const seconds = ctx.quick ? 3 : 6;
  const rounds: AckBusyRound[] = [];
  const roundCount = ctx.repeat ?? (ctx.quick || ctx.variants ? 1 : DEFAULT_ROUNDS);
  for (let round = 1; round <= roundCount; round += 1) {
    for (const variant of chosen) {
      ctx.progress(`ack-busy: ${variant.name} (round ${round})`);
      rounds.push(await measureRound(ctx, variant, round, seconds));
    }
  }
  const medians = chosen.flatMap((variant) =>
    RATES.map((rate) => {
      const phases = rounds
        .filter((r) => r.variant === variant.name)
        .map((r) => r.phases.find((p) => p.rate === rate)!);
      return {
        variant: variant.name,
        rate,
        p50: median(phases.map((p) => p.ack.p50)),
        p99: median(phases.map((p) => p.ack.p99)),
        p99s: phases.map((p) => p.ack.p99),
      };
    }),
  );
  for (const row of medians) {
    ctx.progress(
      `ack-busy: ${row.variant} at ${row.rate} msg/s: ack p50 ${row.p50.toFixed(1)} ms, p99 ${row.p99.toFixed(1)} ms (rounds: ${row.p99s.map((v) => v.toFixed(0)).join(', ')})`,
    );
  }
  return { backgroundRate: BACKGROUND_RATE, seconds, rounds, medians };
}

async function measureRound(
  ctx: BenchContext,
  variant: Variant,
  round: number,
  seconds: number,
): Promise<AckBusyRound> {
  const dir = await tempDir(ctx, `ack-busy-${variant.name}-${round}`);
  const root = variant.before ? ctx.beforeRoot! : ctx.projectRoot;
  const port = await freePort();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    ...nodeProcessEnv(),
    HOST: '127.0.0.1',
    PORT: String(port),
    TEMPORAL_DEV_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
    METRICS_PORT: String(await freePort()),
    CONDUIT_DATA_DIR: join(dir, 'data'),
    LOG_LEVEL: 'info',
    LLM_BASE_URL: ctx.llm.baseUrl,
    CONDUIT_ADMIN_API_KEY: 'bench-admin-key',
    ...benchPinnedEnv(ctx),
    ...(variant.database === 'postgres' ? { DATABASE_URL: ctx.databaseUrl } : {}),
  };
  const started = performance.now();
  const conduit = await startConduit(root, env, join(dir, 'conduit.log'));
  const startMs = performance.now() - started;
  const apiUrl = `http://127.0.0.1:${port}`;
  const url = `${apiUrl}/webhooks/custom`;
  const tag = `ab-${ctx.runTag}-${variant.name}-${round}`;
  const send = async (messageId: string, options: { callback?: boolean; text?: string }) => {
    const { body, headers } = signedMessage(ctx, messageId, options);
    const answer = await postJson(url, body, headers);
    if (answer.status !== 202) throw new Error(`HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
  };
  try {
    // Warm-up (JIT, connection pools, the workflow cache): acks and a few six-step runs.
    await openLoop({ ratePerSecond: 50, count: 50, send: (i) => send(`${tag}-warm-${i}`, { text: '/echo warm' }) });
    const warmRuns = Array.from({ length: 10 }, (_, i) => `${tag}-warmrun-${i}`);
    await Promise.all(warmRuns.map((id) => send(id, {})));
    await ctx.receiver.waitFor(warmRuns, 60_000);

    // The background: six-step runs with replies to the receiver, from 5 s before the first phase to the end.
    const total = 5 + RATES.length * (seconds + 1);
    const backgroundIds = Array.from({ length: BACKGROUND_RATE * total }, (_, i) => `${tag}-bg-${i}`);
    const background = openLoop({
      ratePerSecond: BACKGROUND_RATE,
      count: backgroundIds.length,
      send: (i) => send(backgroundIds[i]!, {}),
    });
    await new Promise((resolve) => setTimeout(resolve, 5000));

    const phases: AckBusyPhase[] = [];
    for (const rate of RATES) {
      const repliesBefore = backgroundIds.filter((id) => ctx.receiver.replies.has(id)).length;
      const metricsBefore = await scrape(`${apiUrl}/metrics`); // also resets the event loop delay histogram
      const cpuBefore = await treeCpu([conduit.pid!]);
      const t0 = performance.now();
      // Commands, so the measured messages themselves add as little worker work as a run can.
      const { outcomes } = await openLoop({
        ratePerSecond: rate,
        count: rate * seconds,
        send: (i) => send(`${tag}-r${rate}-${i}`, { callback: false, text: '/echo ping' }),
      });
      const elapsed = (performance.now() - t0) / 1000;
      const cpuAfter = await treeCpu([conduit.pid!]);
      const metrics = await scrape(`${apiUrl}/metrics`).catch(() => new Map<string, number>());
      const repliesAfter = backgroundIds.filter((id) => ctx.receiver.replies.has(id)).length;
      let cpu = 0;
      for (const [pid, ms] of cpuAfter) cpu += ms - (cpuBefore.get(pid) ?? 0);
      const lag = metrics.get('conduit_nodejs_eventloop_lag_p99_seconds');
      const webhook = (suffix: string) => {
        const key = [...metrics.keys()].find((k) =>
          k.startsWith(`conduit_http_request_duration_seconds_${suffix}{route=/webhooks/`),
        );
        return key ? (metrics.get(key) ?? 0) - (metricsBefore.get(key) ?? 0) : Number.NaN;
      };
      const ok = outcomes.filter((o) => o.ok);
      phases.push({
        rate,
        sent: outcomes.length,
        errors: outcomes.length - ok.length,
        firstError: outcomes.find((o) => !o.ok)?.error,
        ack: summarize(outcomes.map((o) => o.latencyMs)),
        backgroundRepliesPerSecond: (repliesAfter - repliesBefore) / elapsed,
        handlerMeanMs: (webhook('sum') / webhook('count')) * 1000,
        eventLoopLagP99Ms: lag === undefined ? undefined : lag * 1000,
        cpuMsPerSecond: cpu / elapsed,
      });
      const last = phases.at(-1)!;
      ctx.progress(
        `ack-busy: ${variant.name} r${round} ${rate} msg/s: ack p50 ${last.ack.p50.toFixed(1)} p99 ${last.ack.p99.toFixed(1)} max ${last.ack.max.toFixed(0)} ms, errors ${last.errors}, in handler ${last.handlerMeanMs?.toFixed(0) ?? '?'} ms, background replies ${last.backgroundRepliesPerSecond.toFixed(1)}/s, loop lag p99 ${last.eventLoopLagP99Ms?.toFixed(0) ?? '?'} ms, CPU ${last.cpuMsPerSecond.toFixed(0)} ms/s`,
      );
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    await background;
    return { variant: variant.name, round, database: variant.database, startMs, phases };
  } finally {
    await conduit.stop();
  }
}

interface RunningConduit {
  pid?: number;
  stop(): Promise<void>;
}

/** `node --import tsx scripts/start.ts` (what `npm start` runs) in its own process group; ready at its banner. */
async function startConduit(root: string, env: Record<string, string>, logFile: string): Promise<RunningConduit> {
  const log = openSync(logFile, 'a');
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts/start.ts')], {
    cwd: root,
    env,
    detached: true,
    stdio: ['ignore', log, 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killGroup = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup();
      reject(new Error(`npm start not ready in 180 s; log ${logFile}: ${stderr.slice(-500)}`));
    }, 180_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('is ready (')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${code ?? signal}) before it was ready: ${stderr.slice(-800)}`));
    });
  });
  // Keep draining stderr so a chatty process never blocks on a full pipe.
  child.stderr!.on('data', () => {});
  return {
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(killGroup, 20_000);
      await exited;
      clearTimeout(timer);
      killGroup(); // the dev server child, should SIGKILL have been needed
    },
  };
}
