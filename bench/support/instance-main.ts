// A Conduit process under test, started by the bench as its own OS process (as `npm run api` and
// `npm run worker` run in production) so its CPU, memory and event loop are its own and it can be SIGKILLed.
// Configuration comes from the environment (platform/config.ts); the spec in argv chooses the roles and the
// worker tuning. Writes one `BENCH_READY {json}` line to fd 3 when startPlatform has returned.
import { writeSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { ConnectionLike } from '@temporalio/client';
import { Client } from '@temporalio/client';
import { createCustomAdapter } from '../../channels/custom/adapter.js';
import { createLogger } from '../../pii/logger.js';
import { loadConfig } from '../../platform/config.js';
import { acceptMessage } from '../../runs/accept-message.js';
import { type PlatformOptions, startPlatform } from '../../scripts/conduit.js';

export interface InstanceSpec {
  worker: boolean;
  api: boolean;
  tuning?: PlatformOptions['workerTuning'];
  /**
   * Also serve a bench-only copy of POST /webhooks/custom that starts runs with eager workflow start, through a
   * Client on the worker's own NativeConnection (the SDK's condition for eager start). Needs worker: true.
   */
  eagerIngress?: boolean;
}

export interface InstanceReady {
  pid: number;
  /** startPlatform's own duration. */
  startPlatformMs: number;
  /** From process start (node, tsx, module loading) to ready. */
  processMs: number;
  apiUrl?: string;
  metricsUrl?: string;
  /** The Temporal SDK's own Prometheus exporter, when TEMPORAL_SDK_METRICS_PORT is set (--sdk-metrics). */
  sdkMetricsUrl?: string;
  eagerUrl?: string;
}

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const spec = JSON.parse(process.argv[2] ?? '{}') as InstanceSpec;
const config = loadConfig();
const logger = createLogger(config.logLevel);
const started = performance.now();
const platform = await startPlatform(config, {
  projectRoot,
  logger,
  progress: (line) => console.error(`bench instance: ${line}`),
  worker: spec.worker,
  api: spec.api,
  workerTuning: spec.tuning,
});
const startPlatformMs = performance.now() - started;

let eagerUrl: string | undefined;
let eagerlyStarted = 0;
let started_ = 0;
if (spec.eagerIngress && platform.worker?.connection) {
  const client = new Client({
    connection: platform.worker.connection as unknown as ConnectionLike,
    namespace: config.temporal.namespace,
    dataConverter: platform.temporal.options.dataConverter,
  });
  // Counts how many starts the server really handed to this worker eagerly.
  const start = client.workflow.start.bind(client.workflow);
  client.workflow.start = (async (...args: Parameters<typeof start>) => {
    const handle = await start(...args);
    started_ += 1;
    if (handle.eagerlyStarted) eagerlyStarted += 1;
    return handle;
  }) as typeof start;
  const adapter = createCustomAdapter(
    {
      secrets: config.channels.CUSTOM_WEBHOOK_SECRET,
      callbackAllowedHosts: config.channels.CUSTOM_CALLBACK_ALLOWED_HOSTS,
    },
    { fetch: globalThis.fetch, now: () => new Date() },
  );
  const { metrics } = platform;
  const server = createServer((req, res) => {
    if (req.method === 'GET') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ started: started_, eagerlyStarted }));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      try {
        const headers = Object.fromEntries(
          Object.entries(req.headers).map(([key, value]) => [
            key,
            Array.isArray(value) ? value.join(',') : (value ?? ''),
          ]),
        );
        const outcome = await adapter.receive({
          headers,
          body: Buffer.concat(chunks).toString('utf8'),
          receivedAt: new Date(),
        });
        if (outcome.kind !== 'message') throw new Error(`unexpected ${outcome.kind}`);
        const door = { temporal: client, taskQueue: config.temporal.taskQueue, blobs: platform.blobs, metrics, logger };
        const run = await acceptMessage(door, outcome.message, { transport: 'webhook', eager: true });
        res
          .writeHead(run.httpStatus, { 'content-type': 'application/json' })
          .end(JSON.stringify({ workflowId: run.workflowId, runId: run.runId, duplicate: run.duplicate }));
      } catch (error) {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(error) }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  eagerUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/custom`;
}

const ready: InstanceReady = {
  pid: process.pid,
  startPlatformMs,
  processMs: process.uptime() * 1000,
  apiUrl: platform.apiUrl,
  metricsUrl: platform.metricsUrl,
  sdkMetricsUrl:
    spec.worker && config.metrics.temporalSdkPort
      ? `http://${config.api.host}:${config.metrics.temporalSdkPort}/metrics`
      : undefined,
  eagerUrl,
};
// fd 3 is the bench's pipe; stdout and stderr (pino logs) go to the instance's log file.
writeSync(3, `BENCH_READY ${JSON.stringify(ready)}\n`);

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  void platform.stop().finally(() => process.exit(0));
});
