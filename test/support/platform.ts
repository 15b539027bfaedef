// Starts a Conduit instance for one test file against the shared real services, with its own task queue,
// data directory and API port, so test files never see each other's runs.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { createLogger } from '../../pii/logger.js';
import { loadConfig } from '../../platform/config.js';
import { freePort } from '../../platform/free-port.js';
import { type Platform, type PlatformOptions, startPlatform } from '../../scripts/conduit.js';

export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface TestPlatform extends Platform {
  apiUrl: string;
  adminKey: string;
  /** fetch against the API with the admin key. */
  api(path: string, init?: RequestInit): Promise<Response>;
}

export async function startTestPlatform(
  env: Record<string, string> = {},
  options: Partial<PlatformOptions> & { storage?: 'minio' | 'filesystem'; database?: 'postgres' | 'pglite' } = {},
): Promise<TestPlatform> {
  const dataDir = await mkdtemp(join(tmpdir(), 'conduit-platform-'));
  const s3 = inject('s3');
  const adminKey = `test-admin-${Math.random().toString(36).slice(2)}`;
  const config = loadConfig({
    PORT: String(await freePort()),
    // A worker-only platform serves metrics on METRICS_PORT: the default 9464 would clash between test files.
    METRICS_PORT: String(await freePort()),
    CONDUIT_DATA_DIR: dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: `test-${Math.random().toString(36).slice(2)}`,
    ...(options.database === 'pglite' ? {} : { DATABASE_URL: inject('databaseUrl') }),
    ...(options.storage === 'filesystem'
      ? {}
      : {
          S3_ENDPOINT: s3.endpoint,
          S3_ACCESS_KEY: s3.accessKey,
          S3_SECRET_KEY: s3.secretKey,
          S3_BUCKET: 'conduit-test',
        }),
    CONDUIT_ADMIN_API_KEY: adminKey,
    ...env,
  });
  const logger = createLogger(config.logLevel);
  const platform = await startPlatform(config, { projectRoot, logger, ...options });
  const apiUrl = platform.apiUrl!;
  return {
    ...platform,
    apiUrl,
    adminKey,
    api: (path, init = {}) =>
      fetch(`${apiUrl}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json', ...init.headers },
      }),
    async stop() {
      await platform.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError}` : ''}`);
}
