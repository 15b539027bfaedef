// What every scenario shares within one bench invocation: the PostgreSQL database, the fake LLM, the callback
// receiver, the secrets, and the environment each Conduit process under test is configured with.
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import postgres from 'postgres';
import { signCustomPayload } from '../../channels/custom/signature.js';
import { freePort } from '../../platform/free-port.js';
import { formatKey, generateKey, parseKeyList } from '../../security/key-list.js';
import { createDataConverter } from '../../security/keys.js';
import type { FakeLlm } from '../../test/fakes/openai-compatible.js';
import type { CallbackReceiver } from './services.js';

export interface BenchContext {
  projectRoot: string;
  quick: boolean;
  /** Unique per invocation: message ids and task queues carry it, so reruns against one database never collide. */
  runTag: string;
  scratch: string;
  databaseUrl: string;
  llm: FakeLlm;
  receiver: CallbackReceiver;
  secret: string;
  payloadKeys: string;
  /** --variants=default,more-slots: which e2e variants to run (default: all; --quick: two). */
  variants?: string[];
  /** --waiting-tuning='{"maxCachedWorkflows":500}': worker tuning for scenario 4 (default: SDK defaults). */
  waitingTuning?: Record<string, number>;
  /** --waiting-levels=1000,10000: how many parked runs scenario 4 measures (default by --quick or not). */
  waitingLevels?: number[];
  /** --sdk-metrics: worker processes serve the Temporal SDK's metrics, and e2e breaks its latency down with them. */
  sdkMetrics?: boolean;
  /** --dev-server-arg=<arg> (repeatable): extra `temporal server start-dev` arguments for e2e experiments. */
  devServerArgs?: string[];
  /**
   * --own-dev-server: every e2e variant round starts a dev server of its own from its own checkout (a `*-before`
   * variant from --before's), so a change to how the dev server is started is measured side by side too.
   */
  ownDevServer?: boolean;
  /** Set by --cpu-prof: processes under test write V8 CPU profiles here. */
  cpuProfileDir?: string;
  /**
   * --before=<path of another checkout>: the e2e variants named `*-before` run that tree's code (its
   * bench/support/instance-main.ts), so a change is measured against the code before it in one invocation.
   */
  beforeRoot?: string;
  /** --soak-minutes=N: how long scenario 6 offers its load (default 30; --quick: 1). */
  soakMinutes?: number;
  /** --topology=prod: scenario 6 on the production topology (scripts/prod-stack.ts) instead of the dev server. */
  soakTopology?: 'dev' | 'prod';
  /**
   * --repeat=N: the chosen e2e variants run N rounds, interleaved (round 1 of every variant, then round 2 …); the
   * topologies scenario runs N rounds of both topologies, alternating which goes first.
   */
  repeat?: number;
  progress(line: string): void;
}

export function createSecrets() {
  return {
    secret: `whsec_bench_${Math.random().toString(36).slice(2)}`,
    payloadKeys: formatKey(generateKey('payload')),
  };
}

export async function tempDir(ctx: BenchContext, name: string): Promise<string> {
  return mkdtemp(join(ctx.scratch, `${name}-`));
}

/**
 * What every Conduit process a benchmark starts pins, whatever its topology: the fake model, the LLM response cache
 * off so every run reaches the model, the custom channel's secret and loopback callbacks (the receiver listens
 * there), and the rate limits out of the way.
 */
export function benchPinnedEnv(ctx: BenchContext): Record<string, string> {
  return {
    LLM_MODEL: 'fake-model',
    LLM_CACHE_TTL_SECONDS: '0',
    CUSTOM_WEBHOOK_SECRET: ctx.secret,
    CUSTOM_CALLBACK_ALLOWED_HOSTS: '127.0.0.1',
    RATE_LIMIT_PER_USER_PER_MINUTE: '1000000',
    RATE_LIMIT_PER_CONVERSATION_PER_MINUTE: '1000000',
  };
}

/**
 * The environment of a Conduit process under test: production defaults except what a benchmark must pin
 * (benchPinnedEnv, and fixed keys so API and worker processes decrypt each other's payloads).
 */
export async function instanceEnv(
  ctx: BenchContext,
  temporalAddress: string,
  taskQueue: string,
  dataDir: string,
  extra: Record<string, string> = {},
): Promise<Record<string, string>> {
  return {
    HOST: '127.0.0.1',
    PORT: String(await freePort()),
    METRICS_PORT: String(await freePort()),
    CONDUIT_DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_TASK_QUEUE: taskQueue,
    DATABASE_URL: ctx.databaseUrl,
    LLM_BASE_URL: ctx.llm.baseUrl,
    ...benchPinnedEnv(ctx),
    CONDUIT_PAYLOAD_KEYS: ctx.payloadKeys,
    CONDUIT_ADMIN_API_KEY: 'bench-admin-key',
    ...(ctx.sdkMetrics ? { TEMPORAL_SDK_METRICS_PORT: String(await freePort()) } : {}),
    ...extra,
  };
}

/** A Temporal client for the bench's own checks (counting runs, histories, starting reminders). */
export async function benchClient(
  ctx: BenchContext,
  address: string,
): Promise<{ client: Client; close(): Promise<void> }> {
  const connection = await Connection.connect({ address });
  const client = new Client({
    connection,
    namespace: 'default',
    dataConverter: createDataConverter(parseKeyList(ctx.payloadKeys)),
  });
  return { client, close: () => connection.close() };
}

/** A signed custom-channel delivery: unique conversation and sender per message, reply to the receiver. */
export function signedMessage(
  ctx: BenchContext,
  messageId: string,
  options: { callback?: boolean; text?: string } = {},
): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify({
    message_id: messageId,
    conversation_id: `c-${messageId}`,
    sender: { id: `u-${messageId}`, name: 'Bench' },
    text: options.text ?? `please echo ping for ${messageId}`,
    ...(options.callback === false ? {} : { callback_url: ctx.receiver.url }),
  });
  return {
    body,
    headers: { 'x-conduit-signature': signCustomPayload(ctx.secret, body, Math.floor(Date.now() / 1000)) },
  };
}

/** CPU time (user + system) a process has used so far, in milliseconds; undefined once it is gone. */
export async function cpuMs(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at ") ".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/**
 * CPU time of every PostgreSQL server process on the machine (postmaster and backends), in milliseconds. The
 * server is shared: only deltas over a phase on a quiet machine mean anything.
 */
export async function postgresCpuMs(): Promise<number> {
  let total = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = await readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '');
    if (comm.trim() !== 'postgres') continue;
    total += (await cpuMs(Number(entry))) ?? 0;
  }
  return total;
}

/**
 * Transactions committed in the bench database so far (pg_stat_database.xact_commit): every autocommitted
 * statement is one, so the delta over a phase counts database round trips. PostgreSQL publishes the counters
 * with up to a second's delay, hence the pause.
 */
export async function databaseCommits(ctx: BenchContext): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const sql = postgres(ctx.databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const rows =
      await sql`select xact_commit::bigint as commits from pg_stat_database where datname = current_database()`;
    return Number(rows[0]?.commits ?? Number.NaN);
  } finally {
    await sql.end({ timeout: 1 });
  }
}
