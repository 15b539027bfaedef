// The process entry shared by `npm start` (everything), `npm run api` and `npm run worker` (one role each,
// for deployments that scale them apart). Reads .env, validates configuration (one line naming a bad
// variable, exit 2), starts what the entry file composes, prints one ready banner, and drains cleanly on
// SIGINT/SIGTERM/SIGHUP, or when the process that started it (npm, a supervisor) has gone away.
import { fileURLToPath } from 'node:url';
import dotenv from 'dotenv';
import type { Logger } from '../core/logger.js';
import { ConfigError } from '../core/settings.js';
import { createLogger } from '../pii/logger.js';
import { type Config, loadConfig } from './config.js';
import type { Progress } from './go-tool.js';
import type { Platform } from './open-services.js';

export type ProcessRole = 'all' | 'api' | 'worker';

export type StartProcess = (
  config: Config,
  options: { projectRoot: string; logger: Logger; progress: Progress; announce(platform: Platform): void },
) => Promise<Platform>;

/** How often the process checks whether its parent is still there. */
const PARENT_CHECK_MS = 1000;

const projectRoot = fileURLToPath(new URL('..', import.meta.url));

function configOrExit(role: ProcessRole): Config {
  dotenv.config({ quiet: true });
  try {
    const config = loadConfig();
    if (role !== 'all' && !config.temporal.externalAddress) {
      throw new ConfigError(
        'TEMPORAL_ADDRESS',
        `required when running the ${role} on its own (host:port of the Temporal frontend)`,
      );
    }
    return config;
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`conduit: configuration error: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
}

export async function runProcess(role: ProcessRole, start: StartProcess): Promise<void> {
  const config = configOrExit(role);
  const logger = createLogger(config.logLevel);
  const progress = (line: string) => console.error(`conduit: ${line}`);
  const started = Date.now();

  // Signals are handled from the first moment: one that arrives while starting stops the process as soon as
  // the start has finished (or failed), with nothing left running.
  let platform: Platform | undefined;
  let stopping = false;
  let stoppingSince = 0;
  const shutdown = async (reason: string) => {
    if (stopping) {
      // The same Ctrl-C can arrive twice (from the terminal and passed on by npm): only a later one forces.
      if (Date.now() - stoppingSince < 500) return;
      progress(`${reason} again: exiting without waiting`);
      process.exit(1);
    }
    stopping = true;
    stoppingSince = Date.now();
    if (!platform) {
      progress(`${reason}: stopping as soon as the start has finished`);
      return;
    }
    progress(`${reason}: draining the worker and stopping (send it again to force)`);
    await platform.stop();
    progress('stopped');
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void shutdown(signal));
  // npm does not always pass a signal on to its script (and a killed npm passes on nothing): a process whose
  // parent has gone stops as if it had been sent SIGTERM.
  const parent = process.ppid;
  if (parent > 1) {
    setInterval(() => {
      if (process.ppid !== parent && !stopping) void shutdown(`parent process ${parent} exited`);
    }, PARENT_CHECK_MS).unref();
  }

  const announce = (running: Platform) => {
    const lines = [
      '',
      `Conduit ${role === 'all' ? '' : `${role} `}is ready (${((Date.now() - started) / 1000).toFixed(1)}s)`,
      ...(running.apiUrl ? [`  API          ${running.apiUrl}`] : []),
      ...(running.grpcAddress ? [`  gRPC         ${running.grpcAddress}`] : []),
      `  Temporal UI  ${config.temporal.uiUrl ?? running.temporalUiUrl ?? `(external cluster at ${running.temporalAddress})`}`,
      ...(running.metricsUrl ? [`  Metrics      ${running.metricsUrl}`] : []),
      `  Data         ${config.dataDir} (${running.database.kind} database, ${running.blobs.kind} object store)`,
    ];
    if (running.bootstrapAdminKey) {
      lines.push(
        '',
        `  Admin API key (shown once, stored hashed): ${running.bootstrapAdminKey}`,
        `  Try: curl -H "Authorization: Bearer <key>" -H "Content-Type: application/json" \\`,
        `         -d '{"conversation_id":"demo","text":"/help"}' ${running.apiUrl}/v1/messages`,
      );
    }
    console.error(`${lines.join('\n')}\n`);
  };

  try {
    platform = await start(config, { projectRoot, logger, progress, announce });
  } catch (error) {
    console.error(`conduit: failed to start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  if (stopping) {
    await platform.stop();
    progress('stopped');
    process.exit(0);
  }
}
