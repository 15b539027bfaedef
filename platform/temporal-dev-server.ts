// Starts the embedded Temporal dev server (SQLite in WAL mode, UI included) and says which way it got the
// CLI: an existing `temporal`, the cached build in .tools/bin, a one-time `go install`, or the SDK's
// downloader. An external cluster (TEMPORAL_ADDRESS) skips all of this.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
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
}

export interface RunningDevServer {
  address: string;
  uiUrl: string;
  source: string;
  stop(): Promise<void>;
}

export const temporalCliSpec = (version: string) => ({
  binary: 'temporal',
  module: `github.com/temporalio/cli/cmd/temporal@${version}`,
  label: `Temporal CLI ${version}`,
});

/** SQLite pragmas: WAL with synchronous=NORMAL is durable across process crashes and far faster than FULL. */
const SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal'];
/**
 * Eager activity dispatch: the server hands an activity back in the completion of the workflow task that
 * scheduled it instead of through the task queue. Measured in docs/benchmarks.md: reply p50 at 10 msg/s
 * 331 ms against 530-560 ms without, and fewer persistence writes per run. Production clusters set the
 * same key in their dynamic config (docs/deploy.md).
 */
const DYNAMIC_CONFIG = ['system.enableActivityEagerExecution=true'];

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
    ...(options.codecEndpoint ? ['--ui-codec-endpoint', options.codecEndpoint] : []),
  ];
  const child = spawn(cli.path, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: false });
  const recentOutput: string[] = [];
  const remember = (chunk: Buffer) => {
    recentOutput.push(...chunk.toString().split('\n').filter(Boolean));
    recentOutput.splice(0, Math.max(0, recentOutput.length - 30));
  };
  child.stdout?.on('data', remember);
  child.stderr?.on('data', remember);

  try {
    await waitUntilReachable(address, options.namespace, child, recentOutput, options.readyTimeoutMs ?? 60_000);
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
  return { address, uiUrl, source: cli.source, stop: () => stopProcess(child) };
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
        ...(options.codecEndpoint ? ['--ui-codec-endpoint', options.codecEndpoint] : []),
      ],
    },
  });
  return { address, uiUrl, source: 'sdk-download', stop: () => env.teardown() };
}

async function waitUntilReachable(
  address: string,
  namespace: string,
  child: ChildProcess,
  recentOutput: string[],
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
  });
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      throw new Error(
        `Temporal dev server exited with code ${exited} before it was ready:\n${recentOutput.slice(-10).join('\n')}`,
      );
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`Temporal dev server did not answer on ${address} within ${Math.round(timeoutMs / 1000)}s`);
}
