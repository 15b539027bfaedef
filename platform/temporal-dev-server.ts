// Starts the embedded Temporal dev server (SQLite in WAL mode, UI included) and says which way it got the
// CLI: an existing `temporal`, the cached build in .tools/bin, a one-time `go install`, or the SDK's
// downloader. The server is supervised: if it exits on its own it is started again on the same ports and data
// file, with a growing pause while it keeps dying. An external cluster (TEMPORAL_ADDRESS) skips all of this.
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import type { Logger } from '../core/logger.js';
import { searchAttributeFlags } from '../runs/search-attributes.js';
import { stopProcess } from './child-process.js';
import { freePort } from './free-port.js';
import { acquireGoTool, type Progress } from './go-tool.js';

export interface DevServerOptions {
  projectRoot: string;
  dataDir: string;
  port: number;
  uiPort: number;
  namespace: string;
  cliVersion: string;
  /** Where the Temporal UI sends payloads to be decoded (the API's codec endpoint), when set. */
  codecEndpoint?: string;
  progress: Progress;
  /** How long to wait for the server to answer once started. */
  readyTimeoutMs?: number;
  /** Where restarts are logged. */
  logger?: Logger;
  /** Called as each restart begins, with the number of restarts so far. */
  onRestart?: (restarts: number) => void;
  restartBackoff?: { initialMs: number; maxMs: number; resetAfterMs: number };
}

export interface RunningDevServer {
  address: string;
  uiUrl: string;
  source: string;
  /** The server process now running (it changes with every restart); undefined while none is. */
  readonly pid: number | undefined;
  /** How often it was restarted after exiting on its own. */
  readonly restarts: number;
  stop(): Promise<void>;
}

export const temporalCliSpec = (version: string) => ({
  binary: 'temporal',
  module: `github.com/temporalio/cli/cmd/temporal@${version}`,
  label: `Temporal CLI ${version}`,
});

/** SQLite pragmas: WAL with synchronous=NORMAL is durable across process crashes and far faster than FULL. */
const SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal'];
/** Dynamic configuration the dev server starts with; each was measured in docs/benchmarks.md. */
const DYNAMIC_CONFIG = [
  // Eager activity dispatch: the server hands an activity back in the completion of the workflow task that
  // scheduled it instead of through the task queue: reply p50 at 10 msg/s 331 ms against 530-560 ms without,
  // and fewer persistence writes per run. Production clusters set the same key (docs/deploy.md).
  'system.enableActivityEagerExecution=true',
  // The CLI turns this on so that search attributes created at run time are seen at once. It makes every read of
  // them (each start, upsert and visibility write) read the cluster metadata from SQLite again, under a lock:
  // 28 of a six-step run's 48 persistence requests. With SQLite visibility that metadata holds the schema's fixed
  // columns; an attribute added at run time (Conduit's at start, `temporal operator search-attribute create`)
  // is a namespace alias, which this cache does not hold, so nothing is seen later for leaving it off.
  'system.forceSearchAttributesCacheRefreshOnRead=false',
];
/** Conduit's search attributes (runs/search-attributes.ts), registered at every start; a cluster registers them once. */
const SEARCH_ATTRIBUTE_ARGS = searchAttributeFlags().flatMap((flag) => ['--search-attribute', flag]);

export async function startDevServer(options: DevServerOptions): Promise<RunningDevServer> {
  const temporalDir = resolve(options.dataDir, 'temporal');
  await mkdir(temporalDir, { recursive: true });
  const dbFile = join(temporalDir, 'temporal.db');
  const address = `127.0.0.1:${options.port}`;
  const uiUrl = `http://127.0.0.1:${options.uiPort}`;
  const cli = await acquireGoTool(options.projectRoot, temporalCliSpec(options.cliVersion), options.progress);

  if (!cli) {
    options.progress(
      'Temporal CLI: no `temporal` on PATH or in .tools/bin and no Go toolchain; downloading it with the SDK',
    );
    return startWithSdkDownloader(options, dbFile, address, uiUrl);
  }

  options.progress(`Temporal dev server: starting ${cli.path} (${cli.source}) on ${address}, UI ${uiUrl}`);
  // The HTTP port is ours alone (picked free now and kept across restarts): the readiness probe asks it and the
  // gRPC port for the namespace id and requires the same answer, so another instance's server that happens
  // to answer on the gRPC port is never taken for this one.
  const [httpPort, metricsPort] = [await freePort(), await freePort()];
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--ui-port',
    String(options.uiPort),
    '--http-port',
    String(httpPort),
    '--metrics-port',
    String(metricsPort),
    '--db-filename',
    dbFile,
    '--namespace',
    options.namespace,
    '--log-level',
    'warn',
    ...SQLITE_PRAGMAS.flatMap((pragma) => ['--sqlite-pragma', pragma]),
    ...DYNAMIC_CONFIG.flatMap((value) => ['--dynamic-config-value', value]),
    ...SEARCH_ATTRIBUTE_ARGS,
    ...(options.codecEndpoint ? ['--ui-codec-endpoint', options.codecEndpoint] : []),
  ];
  const recentOutput: string[] = [];
  const remember = (chunk: Buffer) => {
    recentOutput.push(...chunk.toString().split('\n').filter(Boolean));
    recentOutput.splice(0, Math.max(0, recentOutput.length - 30));
  };
  const spawnServer = () => {
    // Its own process group: a Ctrl-C in the terminal reaches Conduit, which drains the worker first and then
    // stops the server, instead of the server going away under the draining worker.
    const child = spawn(cli.path, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.stdout?.on('data', remember);
    child.stderr?.on('data', remember);
    // Recorded so that a later start can stop it if this process is killed without stopping it; written before
    // anything else runs, so a kill at any later moment leaves the file behind (a few bytes, once per spawn).
    if (child.pid) {
      try {
        writeFileSync(pidFile(options.dataDir), `${child.pid}\n`);
      } catch {
        // Not recorded: a later start finds the ports busy and says so, as without a pid file.
      }
    }
    return child;
  };
  const probe = { address, httpUrl: `http://127.0.0.1:${httpPort}`, namespace: options.namespace };
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;

  let child = spawnServer();
  try {
    await waitUntilReachable(probe, child, recentOutput, readyTimeoutMs);
  } catch (error) {
    await stopProcess(child);
    throw error;
  }

  // Supervision: when the server exits on its own it is started again on the same ports and data file, after
  // a pause that doubles while it keeps dying (0.5 s up to 30 s) and starts over once it has stayed up a minute.
  const backoff = options.restartBackoff ?? { initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000 };
  const log = options.logger;
  let stopping = false;
  let restarts = 0;
  let delayMs = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  // While the server is down this process holds its port (closing every connection at once, so clients retry):
  // another program starting meanwhile, another instance say, cannot take it and have this instance's worker
  // and clients reconnect to a server that is not theirs. It is let go just before the server starts again.
  let placeholder: Server | undefined;
  const holdPort = () =>
    new Promise<void>((resolveHold) => {
      const server = createServer((socket) => socket.destroy());
      server.unref();
      server.once('error', (error) => {
        log?.error({ err: error, port: options.port }, 'cannot hold the Temporal dev server port while it is down');
        resolveHold();
      });
      server.listen({ port: options.port, host: '127.0.0.1', exclusive: true }, () => {
        if (stopping) server.close();
        else placeholder = server;
        resolveHold();
      });
    });
  const releasePort = () =>
    new Promise<void>((resolveRelease) => {
      const server = placeholder;
      placeholder = undefined;
      if (server) server.close(() => resolveRelease());
      else resolveRelease();
    });
  const supervise = (current: ChildProcess) => {
    const startedAt = Date.now();
    current.once('exit', (code, signal) => {
      if (stopping) return;
      const upMs = Date.now() - startedAt;
      delayMs =
        upMs >= backoff.resetAfterMs || delayMs === 0 ? backoff.initialMs : Math.min(backoff.maxMs, delayMs * 2);
      log?.warn(
        { exitCode: code, signal, upMs, restartInMs: delayMs, output: recentOutput.slice(-5) },
        'Temporal dev server exited; restarting it',
      );
      void holdPort();
      restartTimer = setTimeout(restart, delayMs);
    });
  };
  const restart = async () => {
    if (stopping) return;
    restarts += 1;
    options.onRestart?.(restarts);
    const started = Date.now();
    await releasePort();
    if (stopping) return;
    const next = spawnServer();
    child = next;
    supervise(next);
    try {
      await waitUntilReachable(probe, next, recentOutput, readyTimeoutMs);
      log?.info({ restarts, readyMs: Date.now() - started, address }, 'Temporal dev server restarted and answering');
    } catch (error) {
      // An exit is handled by supervise (the next attempt is scheduled); a server that never answers is killed.
      if (next.exitCode === null && next.signalCode === null && !stopping) {
        log?.warn({ err: error }, 'restarted Temporal dev server does not answer; killing it');
        next.kill('SIGKILL');
      }
    }
  };
  supervise(child);

  return {
    address,
    uiUrl,
    source: cli.source,
    get pid() {
      return child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    get restarts() {
      return restarts;
    },
    stop: async () => {
      stopping = true;
      clearTimeout(restartTimer);
      await releasePort();
      await stopProcess(child);
      await rm(pidFile(options.dataDir), { force: true });
    },
  };
}

/** Where the running server's pid is kept, so a later start can stop a server a killed start left behind. */
export const pidFile = (dataDir: string) => join(resolve(dataDir, 'temporal'), 'server.pid');

/**
 * Stops a dev server that an earlier start on this data directory left running (its Conduit process was killed
 * before it could stop it), so that it does not hold the ports and the data file of this start. It is
 * recognised by the pid file and by its command line naming this data directory's database file; where there
 * is no /proc to read that command line, nothing is stopped.
 */
export async function stopLeftoverDevServer(dataDir: string, progress: Progress): Promise<void> {
  let pid: number;
  let commandLine: string;
  try {
    pid = Number.parseInt(await readFile(pidFile(dataDir), 'utf8'), 10);
    commandLine = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
  } catch {
    return;
  }
  const dbFile = join(resolve(dataDir, 'temporal'), 'temporal.db');
  if (!commandLine.includes('start-dev') || !commandLine.includes(` ${dbFile} `)) return;
  progress(`Temporal dev server: stopping pid ${pid}, left running on this data directory by an earlier start`);
  const gone = () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  };
  process.kill(pid, 'SIGTERM');
  for (let waited = 0; !gone() && waited < 10_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
  if (!gone()) process.kill(pid, 'SIGKILL');
  for (let waited = 0; !gone() && waited < 5_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
}

async function startWithSdkDownloader(
  options: DevServerOptions,
  dbFile: string,
  address: string,
  uiUrl: string,
): Promise<RunningDevServer> {
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      ip: '127.0.0.1',
      port: options.port,
      ui: true,
      uiPort: options.uiPort,
      dbFilename: dbFile,
      namespace: options.namespace,
      extraArgs: [
        ...SQLITE_PRAGMAS.flatMap((pragma) => ['--sqlite-pragma', pragma]),
        ...DYNAMIC_CONFIG.flatMap((value) => ['--dynamic-config-value', value]),
        ...SEARCH_ATTRIBUTE_ARGS,
        ...(options.codecEndpoint ? ['--ui-codec-endpoint', options.codecEndpoint] : []),
      ],
    },
  });
  // Not supervised: the SDK's downloader owns the process.
  return { address, uiUrl, source: 'sdk-download', pid: undefined, restarts: 0, stop: () => env.teardown() };
}

async function waitUntilReachable(
  probe: { address: string; httpUrl: string; namespace: string },
  child: ChildProcess,
  recentOutput: string[],
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: string | undefined;
  const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
    exited = signal ? `signal ${signal}` : `code ${code}`;
  };
  child.once('exit', onExit);
  try {
    while (Date.now() < deadline) {
      if (exited !== undefined || child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `Temporal dev server exited with ${exited ?? `code ${child.exitCode}`} before it was ready:\n${recentOutput.slice(-10).join('\n')}`,
        );
      }
      try {
        if (await answersAsOneServer(probe)) return;
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    child.off('exit', onExit);
  }
  throw new Error(`Temporal dev server did not answer on ${probe.address} within ${Math.round(timeoutMs / 1000)}s`);
}

/** The namespace id seen on the gRPC port equals the one on the HTTP port only this process listens on. */
async function answersAsOneServer(probe: { address: string; httpUrl: string; namespace: string }) {
  const response = await fetch(`${probe.httpUrl}/api/v1/namespaces/${encodeURIComponent(probe.namespace)}`, {
    signal: AbortSignal.timeout(1000),
  });
  if (!response.ok) return false;
  const viaHttp = ((await response.json()) as { namespaceInfo?: { id?: string } }).namespaceInfo?.id;
  const connection = await Connection.connect({ address: probe.address, connectTimeout: 1000 });
  try {
    const viaGrpc = await connection.workflowService.describeNamespace({ namespace: probe.namespace });
    return viaHttp !== undefined && viaGrpc.namespaceInfo?.id === viaHttp;
  } finally {
    await connection.close();
  }
}
