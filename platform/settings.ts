// The process's own settings: where it listens (PORT, HOST, GRPC_PORT), where it keeps data, how it logs, which
// Temporal it talks to (or which embedded dev server it starts), its metrics endpoints and the admin API key.
import { z } from 'zod';
import {
  booleanFlag,
  nonNegativeInt,
  optionalPort,
  optionalString,
  parseVariables,
  port,
  requireWhenSet,
  type Variables,
} from '../core/settings.js';
import type { TemporalTls } from '../security/tls.js';

const platformVariables = z
  .object({
    PORT: port(8080),
    GRPC_PORT: optionalPort,
    HOST: z.string().default('127.0.0.1'),
    CONDUIT_DATA_DIR: z.string().min(1, 'expected a directory path').default('./data'),
    DATA_DIR_MIN_FREE_MB: nonNegativeInt(256, 'a whole number of MiB (0 disables the check)'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

    TEMPORAL_ADDRESS: optionalString.refine(
      (value) => value === undefined || /^[^\s:/]+:\d{1,5}$/.test(value),
      'expected host:port',
    ),
    TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
    TEMPORAL_TASK_QUEUE: z.string().min(1).default('conduit'),
    TEMPORAL_DEV_PORT: port(7233),
    TEMPORAL_UI_PORT: port(8233),
    TEMPORAL_UI_URL: optionalString.refine(
      (value) => value === undefined || /^https?:$/.test(URL.parse(value)?.protocol ?? ''),
      'expected an http(s):// URL of the Temporal UI',
    ),
    TEMPORAL_CLI_VERSION: z.string().default('v1.5.1'),
    TEMPORAL_TLS: booleanFlag(false),
    TEMPORAL_TLS_CA_FILE: optionalString,
    TEMPORAL_TLS_CERT_FILE: optionalString,
    TEMPORAL_TLS_KEY_FILE: optionalString,
    TEMPORAL_TLS_SERVER_NAME: optionalString,

    CONDUIT_ADMIN_API_KEY: optionalString,
    PROMETHEUS_URL: optionalString.refine(
      (value) => value === undefined || /^https?:$/.test(URL.parse(value)?.protocol ?? ''),
      'expected an http(s):// URL of the Prometheus that evaluates deploy/prometheus/alerts.yml',
    ),
    METRICS_ENABLED: booleanFlag(true),
    METRICS_PORT: port(9464),
    TEMPORAL_SDK_METRICS_PORT: optionalPort,
  })
  .superRefine((env, ctx) => {
    if (env.TEMPORAL_SDK_METRICS_PORT !== undefined && env.TEMPORAL_SDK_METRICS_PORT === env.METRICS_PORT) {
      ctx.addIssue({ code: 'custom', path: ['TEMPORAL_SDK_METRICS_PORT'], message: 'must differ from METRICS_PORT' });
    }
    requireWhenSet(
      env,
      [
        ['TEMPORAL_TLS_KEY_FILE', 'TEMPORAL_TLS_CERT_FILE'],
        ['TEMPORAL_TLS_CERT_FILE', 'TEMPORAL_TLS_KEY_FILE'],
      ],
      ctx,
    );
    if (env.GRPC_PORT !== undefined && env.GRPC_PORT === env.PORT) {
      ctx.addIssue({ code: 'custom', path: ['GRPC_PORT'], message: 'must differ from PORT' });
    }
    if (env.TEMPORAL_DEV_PORT === env.TEMPORAL_UI_PORT) {
      ctx.addIssue({ code: 'custom', path: ['TEMPORAL_UI_PORT'], message: 'must differ from TEMPORAL_DEV_PORT' });
    }
  });

export type LogLevel = z.output<typeof platformVariables>['LOG_LEVEL'];

export interface PlatformSettings {
  dataDir: string;
  /** New messages are refused while the data directory's file system has less free space than this. */
  dataDirMinFreeBytes: number;
  api: { host: string; port: number };
  /** The gRPC hub (SendMessage, WatchRun); unset when GRPC_PORT is not set. Binds to HOST. */
  grpc?: { host: string; port: number };
  temporal: TemporalSettings;
  /** port: the worker-only process's metrics server; temporalSdkPort: the SDK's own exporter (unset = off). */
  metrics: { enabled: boolean; port: number; temporalSdkPort?: number };
  logLevel: LogLevel;
  /** CONDUIT_ADMIN_API_KEY: an admin key from the environment; unset: a bootstrap key is stored once. */
  adminApiKey?: string;
  /** PROMETHEUS_URL: the Prometheus that evaluates deploy/prometheus/alerts.yml; the health screen shows its alerts. */
  prometheusUrl?: string;
}

export interface TemporalSettings {
  /** Set when an external cluster is used; otherwise an embedded dev server is started. */
  externalAddress?: string;
  namespace: string;
  taskQueue: string;
  devPort: number;
  uiPort: number;
  /**
   * TEMPORAL_UI_URL: where people open the Temporal UI (the console links each run there); unset: the embedded
   * dev server's UI when this process started one, else no links. Not a trust setting: /codec trusts the
   * embedded UI's origin only (TEMPORAL_UI_ORIGIN, security/settings.ts).
   */
  uiUrl?: string;
  cliVersion: string;
  /** Set when TLS to the Temporal frontend is configured (TEMPORAL_TLS*). */
  tls?: TemporalTls;
}

export function parsePlatformSettings(source: Variables): PlatformSettings {
  const env = parseVariables(platformVariables, source);
  return {
    dataDir: env.CONDUIT_DATA_DIR,
    dataDirMinFreeBytes: env.DATA_DIR_MIN_FREE_MB * 1024 * 1024,
    api: { host: env.HOST, port: env.PORT },
    grpc: env.GRPC_PORT === undefined ? undefined : { host: env.HOST, port: env.GRPC_PORT },
    temporal: {
      externalAddress: env.TEMPORAL_ADDRESS,
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue: env.TEMPORAL_TASK_QUEUE,
      devPort: env.TEMPORAL_DEV_PORT,
      uiPort: env.TEMPORAL_UI_PORT,
      uiUrl: env.TEMPORAL_UI_URL?.replace(/\/+$/, ''),
      cliVersion: env.TEMPORAL_CLI_VERSION,
      tls:
        env.TEMPORAL_TLS || env.TEMPORAL_TLS_CA_FILE || env.TEMPORAL_TLS_CERT_FILE || env.TEMPORAL_TLS_SERVER_NAME
          ? {
              caFile: env.TEMPORAL_TLS_CA_FILE,
              certFile: env.TEMPORAL_TLS_CERT_FILE,
              keyFile: env.TEMPORAL_TLS_KEY_FILE,
              serverName: env.TEMPORAL_TLS_SERVER_NAME,
            }
          : undefined,
    },
    metrics: {
      enabled: env.METRICS_ENABLED,
      port: env.METRICS_PORT,
      temporalSdkPort: env.TEMPORAL_SDK_METRICS_PORT,
    },
    logLevel: env.LOG_LEVEL,
    adminApiKey: env.CONDUIT_ADMIN_API_KEY,
    prometheusUrl: env.PROMETHEUS_URL?.replace(/\/+$/, ''),
  };
}
