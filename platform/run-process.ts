// The process entry shared by `npm start` (everything), `npm run api` and `npm run worker` (one role each,
// for deployments that scale them apart). Reads .env, validates configuration (one line naming a bad
// variable, exit 2), starts what the entry file composes, prints one ready banner, and drains cleanly on
// SIGINT/SIGTERM.
import { fileURLToPath } from 'node:url';
import dotenv from 'dotenv';
import { type Config, ConfigError, loadConfig } from '../core/config.js';
import { createLogger, type Logger } from '../core/logger.js';
import type { Progress } from './go-tool.js';
import type { Platform } from './open-services.js';

export type ProcessRole = 'all' | 'api' | 'worker';

export type StartProcess = (
  config: Config,
  options: { projectRoot: string; logger: Logger; progress: Progress },
) => Promise<Platform>;

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
  try {
    const platform = await start(config, { projectRoot, logger, progress });
    const lines = [
      '',
      `Conduit ${role === 'all' ? '' : `${role} `}is ready (${((Date.now() - started) / 1000).toFixed(1)}s)`,
      ...(platform.apiUrl ? [`  API          ${platform.apiUrl}`] : []),
      ...(platform.grpcAddress ? [`  gRPC         ${platform.grpcAddress}`] : []),
      `  Temporal UI  ${platform.temporalUiUrl ?? `(external cluster at ${platform.temporalAddress})`}`,
      ...(platform.metricsUrl ? [`  Metrics      ${platform.metricsUrl}`] : []),
      `  Data         ${config.dataDir} (${platform.database.kind} database, ${platform.blobs.kind} object store)`,
    ];
    if (platform.bootstrapAdminKey) {
      lines.push(
        '',
        `  Admin API key (shown once, stored hashed): ${platform.bootstrapAdminKey}`,
        `  Try: curl -H "Authorization: Bearer <key>" -H "Content-Type: application/json" \\`,
        `         -d '{"conversation_id":"demo","sender":{"id":"me"},"text":"/help"}' ${platform.apiUrl}/v1/messages`,
      );
    }
    console.error(`${lines.join('\n')}\n`);

    let stopping = false;
    const shutdown = async (signal: string) => {
      if (stopping) {
        progress(`${signal} again: exiting without waiting`);
        process.exit(1);
      }
      stopping = true;
      progress(`${signal}: draining the worker and stopping (send it again to force)`);
      await platform.stop();
      progress('stopped');
      process.exit(0);
    };
    process.on('SIGINT', () => void shutdown('SIGINT'));
    process.on('SIGTERM', () => void shutdown('SIGTERM'));
  } catch (error) {
    console.error(`conduit: failed to start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
