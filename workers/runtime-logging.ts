// Routes the Temporal SDK's own logs into Conduit's pino logger (JSON, same redaction) instead of the SDK's
// console output. The SDK runtime is process-wide and installable once: the first caller wins.
import { DefaultLogger, type LogLevel, Runtime } from '@temporalio/worker';
import type { Logger } from '../core/logger.js';

const SDK_LEVEL: Record<string, LogLevel> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  fatal: 'ERROR',
  silent: 'ERROR',
};
const PINO_METHOD = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

export function installSdkLogging(logger: Logger): void {
  if (Runtime._instance) return;
  const sdk = logger.child({ component: 'temporal-sdk' });
  Runtime.install({
    logger: new DefaultLogger(SDK_LEVEL[logger.level] ?? 'INFO', (entry) => {
      sdk[PINO_METHOD[entry.level]]({ ...entry.meta }, entry.message);
    }),
  });
}
