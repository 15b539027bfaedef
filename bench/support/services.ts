// The real services a benchmark scenario runs against, started by the bench itself: a Temporal dev server
// (the CLI in .tools/bin, SQLite in WAL mode with synchronous=normal, on free ports in a temp directory), the
// fake LLM (zero latency, or each call delayed by a draw from a latency model), and the callback receiver that
// records when each reply arrives.
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { stopProcess } from '../../platform/child-process.js';
import { freePort } from '../../platform/free-port.js';
import { startDevServer } from '../../platform/temporal-dev-server.js';
import {
  type FakeChatBody,
  type FakeLlm,
  type FakeLlmReply,
  startFakeLlm,
} from '../../test/fakes/openai-compatible.js';
import { type LatencyModel, latencySampler } from './latency.js';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';

export interface BenchTemporal {
  address: string;
  pid?: number;
  /** The dev server's Prometheus endpoint (persistence and frontend metrics). */
  metricsUrl?: string;
  startMs: number;
  stop(): Promise<void>;
}

export async function startBenchTemporal(
  projectRoot: string,
  dataDir: string,
  progress: (line: string) => void,
  extraArgs: string[] = [],
): Promise<BenchTemporal> {
  if (extraArgs.length > 0) return startDevServerWith(projectRoot, dataDir, extraArgs);
  const started = performance.now();
  const server = await startDevServer({
    projectRoot,
    dataDir,
    port: await freePort(),
    uiPort: await freePort(),
    namespace: 'default',
    cliVersion: TEMPORAL_CLI_VERSION,
    progress,
  });
  const startMs = performance.now() - started;
  // startDevServer does not expose its child; find it by the database file only this server uses.
  const found = await findProcess(join(dataDir, 'temporal', 'temporal.db'));
  const metricsPort = found?.args[found.args.indexOf('--metrics-port') + 1];
  return {
    address: server.address,
    pid: found?.pid,
    metricsUrl: metricsPort ? `http://127.0.0.1:${metricsPort}/metrics` : undefined,
    startMs,
    stop: server.stop,
  };
}

async function findProcess(argument: string): Promise<{ pid: number; args: string[] } | undefined> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0');
      if (args.includes(argument)) return { pid: Number(entry), args };
    } catch {
      // the process ended while we looked
    }
  }
  return undefined;
}

/** Resident set size of a process in bytes (VmRSS), and its peak (VmHWM); undefined when it is gone. */
export async function readRss(pid: number | undefined): Promise<{ rss: number; peak: number } | undefined> {
  if (pid === undefined) return undefined;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rss: kb('VmRSS') * 1024, peak: kb('VmHWM') * 1024 };
  } catch {
    return undefined;
  }
}

/** Sums of Prometheus samples by metric name and label subset, e.g. sum of persistence_requests{operation=…}. */
export async function scrape(url: string | undefined): Promise<Map<string, number>> {
  if (!url) return new Map();
  return parseMetrics(await (await fetch(url)).text());
}

export function parseMetrics(text: string): Map<string, number> {
  const totals = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const [, name, labels = '', value] = match;
    const numeric = Number(value);
    if (!Number.isFinite(numeric)) continue;
    totals.set(name!, (totals.get(name!) ?? 0) + numeric);
    for (const label of labels.slice(1, -1).matchAll(/(\w+)="([^"]*)"/g)) {
      const key = `${name}{${label[1]}=${label[2]}}`;
      totals.set(key, (totals.get(key) ?? 0) + numeric);
    }
  }
  return totals;
}

export function delta(after: Map<string, number>, before: Map<string, number>, key: string): number {
  return (after.get(key) ?? 0) - (before.get(key) ?? 0);
}

/**
 * The fake model's fixed policy for a six-step run: intent requests (those with response_format) get JSON,
 * the first planning turn asks for the built-in echo tool, the turn after the tool result answers in text.
 */
export function sixStepPolicy(body: FakeChatBody): FakeLlmReply {
  if (body.response_format) return { json: { intent: 'task', confidence: 0.9, reason: 'benchmark' } };
  const sawTool = body.messages.some((message) => message.role === 'tool');
  if (!sawTool) return { toolCalls: [{ name: 'echo', arguments: { text: 'ping' } }] };
  return { text: 'Done: the echo tool answered ping.' };
}

export interface BenchLlm extends FakeLlm {
  /** Every delay drawn so far, in call order (empty without a latency model). */
  delaysMs: number[];
}

/** The fake model with the six-step policy; with a latency model, each answer waits for its next draw. */
export async function startBenchLlm(latency?: LatencyModel): Promise<BenchLlm> {
  const delaysMs: number[] = [];
  const draw = latency ? latencySampler(latency) : undefined;
  const llm = await startFakeLlm({
    respond: (body) => {
      const reply = sixStepPolicy(body);
      if (!draw) return reply;
      const delayMs = draw();
      delaysMs.push(delayMs);
      return { ...reply, delayMs };
    },
    record: false,
  });
  return { ...llm, delaysMs };
}

export interface ReplyRecord {
  /** performance.now() when the first reply for the message arrived. */
  at: number;
  text: string;
}

export interface CallbackReceiver {
  url: string;
  replies: Map<string, ReplyRecord>;
  /** Replies that arrived again for a message that already had one, by message id. */
  duplicates: Map<string, number>;
  progressNotices: number;
  /**
   * Resolves once every id has a reply, or once `quietMs` passed without a reply for any of them (then with the ids
   * still missing): a slow machine delivering at its own pace is waited for, a stall is not.
   */
  waitFor(ids: Iterable<string>, quietMs: number): Promise<string[]>;
  close(): Promise<void>;
}

/** Receives custom-channel callbacks (signed JSON posts), de-duplicates replies by message id and counts repeats. */
export async function startCallbackReceiver(): Promise<CallbackReceiver> {
  const replies = new Map<string, ReplyRecord>();
  const duplicates = new Map<string, number>();
  let progressNotices = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const at = performance.now();
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          in_reply_to: string;
          kind: string;
          text: string;
        };
        if (body.kind === 'progress') progressNotices += 1;
        else if (replies.has(body.in_reply_to))
          duplicates.set(body.in_reply_to, (duplicates.get(body.in_reply_to) ?? 0) + 1);
        else replies.set(body.in_reply_to, { at, text: body.text });
      } catch {
        res.writeHead(400).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    replies,
    duplicates,
    get progressNotices() {
      return progressNotices;
    },
    async waitFor(ids, quietMs) {
      let missing = [...ids];
      let deadline = Date.now() + quietMs;
      for (;;) {
        const still = missing.filter((id) => !replies.has(id));
        if (still.length < missing.length) deadline = Date.now() + quietMs;
        missing = still;
        if (missing.length === 0 || Date.now() >= deadline) return missing;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The same dev server as platform/temporal-dev-server.ts starts (same binary, pragmas and log level) with extra
 * arguments, for experiments such as `--dynamic-config-value system.enableActivityEagerExecution=true`.
 */
async function startDevServerWith(projectRoot: string, dataDir: string, extraArgs: string[]): Promise<BenchTemporal> {
  const started = performance.now();
  await mkdir(join(dataDir, 'temporal'), { recursive: true });
  const [port, uiPort, httpPort, metricsPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--http-port',
    String(httpPort),
    '--metrics-port',
    String(metricsPort),
    '--db-filename',
    join(dataDir, 'temporal', 'temporal.db'),
    '--namespace',
    'default',
    '--log-level',
    'warn',
    '--sqlite-pragma',
    'journal_mode=wal',
    '--sqlite-pragma',
    'synchronous=normal',
    ...extraArgs,
  ];
  const child = spawn(join(projectRoot, '.tools/bin/temporal'), args, { stdio: 'ignore' });
  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      await connection.workflowService.describeNamespace({ namespace: 'default' });
      await connection.close();
      break;
    } catch (error) {
      if (Date.now() > deadline || child.exitCode !== null) {
        await stopProcess(child);
        throw new Error(`dev server with ${extraArgs.join(' ')} did not start: ${error}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  return {
    address,
    pid: child.pid,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    startMs: performance.now() - started,
    stop: () => stopProcess(child),
  };
}
