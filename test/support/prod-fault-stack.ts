// The production topology (scripts/prod-stack.ts) as one fault-suite file starts it: its own databases and
// directory, the custom channel signed with a secret of its own and answered at a signed-callback receiver, and the
// clean-up its afterAll needs. KEEP_PROD_STACK=1 keeps the stack's databases and its directory
// (/tmp/conduit-prod-stack-*, logs/ in it) for a look after a failure.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection, WorkflowClient } from '@temporalio/client';
import postgres from 'postgres';
import { type ProdStack, type ProdStackOptions, startProdStack } from '../../scripts/prod-stack.js';
import { type CallbackReceiver, startCallbackReceiver } from './fault-load.js';
import { eventually, projectRoot } from './platform.js';
import { ADMIN_URL } from './postgres.js';

export interface FaultStack {
  stack: ProdStack;
  receiver: CallbackReceiver;
  /** The stack's directory (logs/, minio/, nginx/, one data directory per process). */
  dir: string;
  /** The custom channel's signing secret. */
  secret: string;
  /** runLoad's address options: signed custom-channel messages through nginx, answered at the receiver. */
  through: { baseUrl: string; secret: string; callbackUrl: string };
  /** A Temporal client of the stack's server (opened on first use): histories, states. */
  workflows(): Promise<WorkflowClient>;
  /** Conduit's database (opened on first use), for what a test reads or seeds directly. */
  sql(): postgres.Sql;
  /** One series of a stack process's /metrics, by its base URL (0 when absent). */
  metric(url: string, series: string): Promise<number>;
  /** Waits (bounded) for a reply to every message, then a moment for a late duplicate; returns how long it took. */
  waitForReplies(messageIds: string[], timeoutMs?: number): Promise<number>;
  close(): Promise<void>;
}

export interface FaultStackOptions extends Pick<ProdStackOptions, 'postgresAddress' | 'processEnv'> {
  /** Added to every Conduit process's environment. */
  env?: Record<string, string>;
  /**
   * Runs once the stack's directory exists, before anything starts (a file system of its own under it, say);
   * what it returns is undone after the stack stopped, before the directory is removed.
   */
  prepare?: (dir: string) => Promise<(() => Promise<void>) | undefined>;
}

export async function startFaultStack(options: FaultStackOptions = {}): Promise<FaultStack> {
  const dir = await mkdtemp(join(tmpdir(), 'conduit-prod-stack-'));
  const undo = await options.prepare?.(dir);
  const receiver = await startCallbackReceiver();
  const secret = `whsec_prod_${randomBytes(12).toString('hex')}`;
  const removeAll = async () => {
    await receiver.close();
    await undo?.();
    if (!process.env.KEEP_PROD_STACK) await rm(dir, { recursive: true, force: true });
  };
  let stack: ProdStack;
  try {
    stack = await startProdStack({
      projectRoot,
      dir,
      postgresUrl: ADMIN_URL,
      postgresAddress: options.postgresAddress,
      // The machine's max_connections is shared with other stacks; at 20 a start sometimes met "too many clients".
      temporalConnections: 8,
      databasePrefix: `conduit_faults_${randomBytes(4).toString('hex')}`,
      env: {
        CUSTOM_WEBHOOK_SECRET: secret,
        CUSTOM_CALLBACK_ALLOWED_HOSTS: '127.0.0.1',
        LOG_LEVEL: 'warn',
        // Only final replies: /echo answers at once and no "working on it" notice interleaves.
        PIPELINE_PROGRESS_DELAY_MS: '600000',
        ...options.env,
      },
      processEnv: options.processEnv,
      progress: (line) => console.error(`[prod stack] ${line}`),
    });
  } catch (error) {
    await removeAll();
    throw error;
  }
  let temporal: Connection | undefined;
  let sql: postgres.Sql | undefined;
  return {
    stack,
    receiver,
    dir,
    secret,
    through: { baseUrl: stack.url, secret, callbackUrl: receiver.url },
    async workflows() {
      temporal ??= await Connection.connect({ address: stack.temporalAddress });
      return new WorkflowClient({ connection: temporal });
    },
    sql() {
      sql ??= postgres(stack.databaseUrl, { max: 2, onnotice: () => undefined });
      return sql;
    },
    async metric(url, series) {
      const text = await (await fetch(`${url}/metrics`)).text();
      const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
      return line ? Number(line.slice(series.length + 1)) : 0;
    },
    async waitForReplies(messageIds, timeoutMs = 180_000) {
      const started = performance.now();
      await eventually(
        async () => (messageIds.every((id) => receiver.replies.has(id)) ? true : undefined),
        timeoutMs,
        'a reply to every message',
      ).catch(() => undefined);
      // A late duplicate would arrive after the last first reply: give it a moment to show.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      return performance.now() - started;
    },
    async close() {
      await sql?.end({ timeout: 5 });
      await temporal?.close();
      await stack.stop();
      if (!process.env.KEEP_PROD_STACK) await stack.dropDatabases();
      await removeAll();
    },
  };
}
