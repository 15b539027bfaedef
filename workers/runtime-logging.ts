// Routes the Temporal SDK's own logs into Conduit's pino logger (JSON, same redaction) instead of the SDK's
// console output, and (when a bind address is given) serves the SDK's worker metrics to Prometheus. The SDK
// runtime is process-wide and installable once: the first caller wins, so logging and metrics share it.
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

export interface SdkTelemetry {
  /** `host:port` for the SDK's Prometheus exporter (temporal_* metrics at /metrics); unset: no exporter. */
  prometheusBindAddress?: string;
}

/** Whether this process has installed the SDK runtime already (and so its metrics exporter, if any). */
export const sdkRuntimeInstalled = () => Runtime._instance !== undefined;

export function installSdkLogging(logger: Logger, telemetry: SdkTelemetry = {}): void {
  if (Runtime._instance) {
    if (telemetry.prometheusBindAddress) {
      logger.warn(
        { bindAddress: telemetry.prometheusBindAddress },
        'Temporal SDK runtime already installed in this process: SDK metrics exporter not started',
      );
    }
    return;
  }
  const sdk = logger.child({ component: 'temporal-sdk' });
  Runtime.install({
    logger: new DefaultLogger(SDK_LEVEL[logger.level] ?? 'INFO', (entry) => {
      sdk[PINO_METHOD[entry.level]]({ ...entry.meta }, entry.message);
    }),
    ...(telemetry.prometheusBindAddress && {
      telemetryOptions: {
        metrics: {
          // Seconds, like every other histogram Conduit exports (the SDK's default is milliseconds).
          prometheus: { bindAddress: telemetry.prometheusBindAddress, useSecondsForDurations: true },
        },
      },
    }),
  });
}
