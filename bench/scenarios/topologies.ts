// Scenario 7, topologies (issues 12 and 14): the same measurements on the bench's dev-server topology (Temporal
// dev server on SQLite, one API and one worker process) and on the production topology of scripts/prod-stack.ts
// (Temporal server on PostgreSQL, MinIO, two API processes behind nginx, two workers), each round on fresh systems,
// the two interleaved: six-step runs at 10 msg/s and in a 200-message burst, a 200-message /echo burst, then
// ingress at scenario 1's rates with the workers stopped. CPU per run by role from /proc, PostgreSQL counted as the
// backends of each system's own databases (the server is shared with whatever else runs on the machine).
import postgres from 'postgres';
import { type BenchContext, cpuMs, signedMessage, tempDir } from '../support/context.js';
import { openLoop, postJson } from '../support/load.js';
import {
  type Batch,
  insidePerRunMs,
  offer,
  persistencePerRun,
  type ReplyPhase,
  replyPhase,
  type Throughput,
  throughput,
} from '../support/pipeline-load.js';
import { cpuBetween, machineBusyMs, treeCpu } from '../support/process-tree.js';
import { scrape } from '../support/services.js';
import { type ProcessRole, startDev, startProduction, type UnderTest } from '../support/soak-systems.js';
import { type Summary, summarize } from '../support/stats.js';

export type TopologyName = 'dev-server' | 'production';
export type CpuRole = ProcessRole | 'PostgreSQL (Conduit)' | 'PostgreSQL (Temporal)';

/** CPU milliseconds per completed run (per acknowledged message for ingress), by role, over one phase. */
export interface CpuPerUnit {
  byRole: Partial<Record<CpuRole, number>>;
  /** Sum over the roles: everything the system under test used. */
  total: number;
  /** The bench process (load generator, fake LLM, receiver), per unit. */
  bench: number;
  /** Cores the rest of the machine kept busy meanwhile (everything but the system, the bench and its backends). */
  otherCores: number;
  /** False when the shared PostgreSQL refused the monitor's query: no PostgreSQL figure for the phase. */
  postgresKnown: boolean;
}

export interface SteadyPhase extends ReplyPhase {
  insideMsPerRun: number;
  cpu: CpuPerUnit;
}

export interface BurstPhase extends Throughput {
  offerRate: number;
  missing: number;
  duplicateReplies: number;
  ackErrors: number;
  firstError?: string;
  progressNotices: number;
  cpu: CpuPerUnit;
  /** Temporal persistence write requests per run (its persistence_requests counter). */
  persistenceWritesPerRun?: number;
}

export interface IngressPhase {
  rate: number;
  sent: number;
  ok: number;
  errors: number;
  firstError?: string;
  /**
   * Ack latency of the acknowledged requests, from their due time. Refused ones are counted in `errors` and left
   * out: they fail fast (nginx out of connections answers at once), and would flatter the percentiles.
   */
  latency: Summary;
  achievedRate: number;
  cpu: CpuPerUnit;
}

export interface TopologyRun {
  topology: TopologyName;
  round: number;
  /** Processes per role (APIs, workers …). */
  processes: Partial<Record<ProcessRole, number>>;
  startSeconds: number;
  elapsedSeconds: number;
  sixStep: { steady: SteadyPhase; burst: BurstPhase };
  command: BurstPhase;
  ingress: IngressPhase[];
}

export interface TopologiesResult {
  rounds: number;
  runs: TopologyRun[];
}

/** The message of a command run: no model, no tool; the workflow answers itself (scenario 2's `command`). */
const COMMAND_TEXT = '/echo ping';
/** Scenario 1's rates and duration per rate, so the ingress figures compare with its table. */
const INGRESS_RATES = [50, 100, 200, 400, 800];
const INGRESS_SECONDS = 8;

export async function topologies(ctx: BenchContext): Promise<TopologiesResult> {
  const rounds = ctx.repeat ?? 1;
  const runs: TopologyRun[] = [];
  // Watches pg_stat_activity for the systems' backends; one connection held for the whole scenario.
  const monitor = postgres(ctx.databaseUrl, { max: 1, onnotice: () => {} });
  try {
    for (let round = 1; round <= rounds; round++) {
      // Alternate which topology goes first, so neither always meets the machine right after the other.
      const order: TopologyName[] = round % 2 ? ['dev-server', 'production'] : ['production', 'dev-server'];
      for (const topology of order) runs.push(await measureTopology(ctx, monitor, topology, round));
    }
  } finally {
    await monitor.end({ timeout: 1 });
  }
  return { rounds, runs };
}

async function measureTopology(
  ctx: BenchContext,
  monitor: postgres.Sql,
  topology: TopologyName,
  round: number,
): Promise<TopologyRun> {
  const began = performance.now();
  const label = `topo${round}`;
  const dir = await tempDir(ctx, `topologies-${topology}-${round}`);
  ctx.progress(`topologies: round ${round}, ${topology}: starting`);
  const system =
    topology === 'production'
      ? await startProduction(ctx, dir, { LLM_BASE_URL: ctx.llm.baseUrl }, label)
      : await startDev(ctx, dir, {}, label);
  const startSeconds = (performance.now() - began) / 1000;
  let run: Omit<TopologyRun, 'elapsedSeconds'> | undefined;
  try {
    const processes: TopologyRun['processes'] = {};
    for (const p of system.processes) processes[p.role] = (processes[p.role] ?? 0) + 1;
    const prefix = `top-${ctx.runTag}-${round}-${topology === 'production' ? 'prod' : 'dev'}`;
    const url = `${system.url}/webhooks/custom`;
    const sender = (text?: string) => async (messageId: string) => {
      const { body, headers } = signedMessage(ctx, messageId, { text });
      const answer = await postJson(url, body, headers);
      if (answer.status !== 202) throw new Error(`HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
    };
    const meter = cpuMeter(system, monitor);
    const warmUp = (warmPrefix: string, count: number, send: (messageId: string) => Promise<unknown>) =>
      offer(ctx, { prefix: warmPrefix, rate: 10, count, send, quietMs: 60_000 });

    // Six-step runs: warm-up (JIT, pools, workflow caches), steady load, burst.
    const sixStep = sender();
    await warmUp(`${prefix}-warm`, ctx.quick ? 10 : 80, sixStep);
    ctx.progress(`topologies: ${topology}: six-step runs at 10 msg/s`);
    const steady = await steadyPhase(ctx, system, meter, `${prefix}-r10`, sixStep);
    ctx.progress(`topologies: ${topology}: six-step burst`);
    const burst = await burstPhase(ctx, system, meter, `${prefix}-sat`, sixStep);

    // Command runs: a short warm-up of their own path, then the burst.
    const command = sender(COMMAND_TEXT);
    await warmUp(`${prefix}-cwarm`, ctx.quick ? 5 : 20, command);
    ctx.progress(`topologies: ${topology}: /echo burst`);
    const commandBurst = await burstPhase(ctx, system, meter, `${prefix}-cmd`, command);

    // Ingress last: with the workers stopped the runs are only recorded, and the system is dropped afterwards.
    await system.stopWorkers();
    const ingress = await ingressPhases(ctx, system, meter, `${prefix}-ing`);
    run = { topology, round, processes, startSeconds, sixStep: { steady, burst }, command: commandBurst, ingress };
  } finally {
    await system.stop();
  }
  const elapsedSeconds = (performance.now() - began) / 1000;
  ctx.progress(`topologies: round ${round}, ${topology}: done in ${Math.round(elapsedSeconds)} s`);
  return { ...run, elapsedSeconds };
}

async function steadyPhase(
  ctx: BenchContext,
  system: UnderTest,
  meter: CpuMeter,
  prefix: string,
  send: (id: string) => Promise<void>,
): Promise<SteadyPhase> {
  const rate = 10;
  const workers = system.processes.filter((p) => p.role === 'worker').map((p) => p.metricsUrl);
  const metricsBefore = await scrapeAll(workers);
  const cpuBefore = await meter.read();
  const phase = await offer(ctx, { prefix, rate, count: rate * (ctx.quick ? 3 : 10), send });
  const cpu = meter.perUnit(cpuBefore, await meter.read(), phase.replyTimes.length);
  const runs = Math.max(1, phase.replyTimes.length);
  const inside = insidePerRunMs(await scrapeAll(workers), metricsBefore, runs);
  return {
    ...replyPhase(rate, phase, inside.insideMsPerRun),
    insideMsPerRun: inside.insideMsPerRun,
    cpu,
  };
}

async function burstPhase(
  ctx: BenchContext,
  system: UnderTest,
  meter: CpuMeter,
  prefix: string,
  send: (id: string) => Promise<void>,
): Promise<BurstPhase> {
  const count = ctx.quick ? 50 : 200;
  const offerRate = ctx.quick ? 200 : 500;
  const notices = ctx.receiver.progressNotices;
  const temporalBefore = await scrape(system.temporalMetricsUrl).catch(() => undefined);
  const cpuBefore = await meter.read();
  const burst: Batch = await offer(ctx, { prefix, rate: offerRate, count, send, quietMs: 240_000 });
  const cpu = meter.perUnit(cpuBefore, await meter.read(), burst.replyTimes.length);
  const temporalAfter = await scrape(system.temporalMetricsUrl).catch(() => undefined);
  const completed = burst.replyTimes.length;
  return {
    ...throughput(burst),
    offerRate,
    missing: burst.missing.length,
    duplicateReplies: burst.duplicateReplies,
    ackErrors: burst.ackErrors,
    firstError: burst.firstError,
    progressNotices: ctx.receiver.progressNotices - notices,
    cpu,
    persistenceWritesPerRun:
      temporalBefore && temporalAfter && completed > 0
        ? persistencePerRun(temporalAfter, temporalBefore, completed).writes
        : undefined,
  };
}

/** Scenario 1's load (every 20th request re-sends the message of ten requests earlier) against the system's door. */
async function ingressPhases(
  ctx: BenchContext,
  system: UnderTest,
  meter: CpuMeter,
  prefix: string,
): Promise<IngressPhase[]> {
  const url = `${system.url}/webhooks/custom`;
  const send = async (messageId: string) => {
    const { body, headers } = signedMessage(ctx, messageId, { callback: false });
    const answer = await postJson(url, body, headers);
    if (answer.status !== 202 && answer.status !== 200) {
      throw new Error(`HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
    }
  };
  await openLoop({ ratePerSecond: 50, count: 50, send: (i) => send(`${prefix}-warm-${i}`) });
  const rates = ctx.quick ? [25, 50] : INGRESS_RATES;
  const seconds = ctx.quick ? 2 : INGRESS_SECONDS;
  const levels: IngressPhase[] = [];
  for (const rate of rates) {
    ctx.progress(`topologies: ingress ${rate} msg/s for ${seconds} s`);
    const count = rate * seconds;
    const cpuBefore = await meter.read();
    const { outcomes, startedAt } = await openLoop({
      ratePerSecond: rate,
      count,
      send: (i) => send(`${prefix}-${rate}-${i % 20 === 19 ? i - 10 : i}`),
    });
    const ok = outcomes.filter((o) => o.ok).length;
    // Per acknowledged message: a refused request costs the system next to nothing.
    const cpu = meter.perUnit(cpuBefore, await meter.read(), ok);
    const lastDone = Math.max(...outcomes.map((o) => o.doneAt));
    levels.push({
      rate,
      sent: count,
      ok,
      errors: count - ok,
      firstError: outcomes.find((o) => !o.ok)?.error,
      latency: summarize(outcomes.filter((o) => o.ok).map((o) => o.latencyMs)),
      achievedRate: ok / ((lastDone - startedAt) / 1000),
      cpu,
    });
    await new Promise((resolve) => setTimeout(resolve, ctx.quick ? 200 : 1500));
  }
  return levels;
}

async function scrapeAll(urls: Array<string | undefined>): Promise<Map<string, number>> {
  const total = new Map<string, number>();
  for (const url of urls) {
    for (const [key, value] of await scrape(url)) total.set(key, (total.get(key) ?? 0) + value);
  }
  return total;
}

interface CpuReading {
  at: number;
  byRole: Map<CpuRole, Map<number, number>>;
  postgresKnown: boolean;
  benchMs: number;
  machineMs: number;
}

interface CpuMeter {
  read(): Promise<CpuReading>;
  perUnit(before: CpuReading, after: CpuReading, units: number): CpuPerUnit;
}

/**
 * CPU by role over a phase: each role's processes and their descendants (nginx's worker, say), and the PostgreSQL
 * backends connected to the system's databases, listed anew at every reading (pools grow under load).
 */
function cpuMeter(system: UnderTest, monitor: postgres.Sql): CpuMeter {
  const roles = [...new Set(system.processes.map((p) => p.role))];
  const backendCpu = async (databases: string[]): Promise<Map<number, number>> => {
    const used = new Map<number, number>();
    if (databases.length === 0) return used;
    const rows = await monitor<{ pid: number }[]>`
      select pid from pg_stat_activity where datname in ${monitor(databases)} and pid <> pg_backend_pid()`;
    for (const { pid } of rows) {
      const ms = await cpuMs(pid);
      if (ms !== undefined) used.set(pid, ms);
    }
    return used;
  };
  return {
    async read() {
      const byRole = new Map<CpuRole, Map<number, number>>();
      for (const role of roles) {
        const pids = system.processes.flatMap((p) => (p.role === role && p.pid !== undefined ? [p.pid] : []));
        byRole.set(role, await treeCpu(pids));
      }
      let postgresKnown = true;
      try {
        byRole.set('PostgreSQL (Conduit)', await backendCpu(system.databases.conduit));
        if (system.databases.temporal.length) {
          byRole.set('PostgreSQL (Temporal)', await backendCpu(system.databases.temporal));
        }
      } catch {
        postgresKnown = false; // the shared server refused the query (too many clients): no figure for the phase
      }
      const bench = process.cpuUsage();
      return {
        at: performance.now(),
        byRole,
        postgresKnown,
        benchMs: (bench.user + bench.system) / 1000,
        machineMs: await machineBusyMs(),
      };
    },
    perUnit(before, after, units) {
      const n = Math.max(1, units);
      const postgresKnown = before.postgresKnown && after.postgresKnown;
      const byRole: Partial<Record<CpuRole, number>> = {};
      let used = 0;
      for (const [role, readings] of after.byRole) {
        if (role.startsWith('PostgreSQL') && !postgresKnown) continue;
        const ms = cpuBetween(before.byRole.get(role) ?? new Map(), readings);
        used += ms;
        byRole[role] = ms / n;
      }
      const bench = after.benchMs - before.benchMs;
      const wallMs = after.at - before.at;
      return {
        byRole,
        total: used / n,
        bench: bench / n,
        otherCores: (after.machineMs - before.machineMs - used - bench) / wallMs,
        postgresKnown,
      };
    },
  };
}
