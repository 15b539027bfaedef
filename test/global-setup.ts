// Starts the real services the integration tests share, once per run: a Temporal dev server (or the cluster
// at TEMPORAL_ADDRESS), a fresh PostgreSQL database and a MinIO server, and hands their addresses to tests.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { freePort } from '../platform/free-port.js';
import { startMinio } from '../platform/minio-server.js';
import { startDevServer } from '../platform/temporal-dev-server.js';
import { createTestDatabase } from './support/postgres.js';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const progress = (line: string) => console.error(`[test services] ${line}`);

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    databaseUrl: string;
    s3: { endpoint: string; accessKey: string; secretKey: string };
  }
}

export default async function setup(project: TestProject) {
  const scratch = await mkdtemp(join(tmpdir(), 'conduit-test-'));
  const stops: Array<() => Promise<void>> = [async () => rm(scratch, { recursive: true, force: true })];
  const teardown = async () => {
    for (const stop of stops.reverse()) await stop().catch((error) => progress(`teardown: ${error}`));
  };
  try {
    let temporalAddress = process.env.TEMPORAL_ADDRESS;
    if (!temporalAddress) {
      const server = await startDevServer({
        projectRoot,
        dataDir: join(scratch, 'temporal'),
        port: await freePort(),
        uiPort: await freePort(),
        namespace: 'default',
        cliVersion: 'v1.5.1',
        progress,
      });
      stops.push(server.stop);
      temporalAddress = server.address;
    }
    const database = await createTestDatabase(progress);
    stops.push(database.drop);
    const minio = await startMinio(projectRoot, join(scratch, 'minio'), progress);
    stops.push(minio.stop);

    project.provide('temporalAddress', temporalAddress);
    project.provide('databaseUrl', database.url);
    project.provide('s3', { endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey });
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
