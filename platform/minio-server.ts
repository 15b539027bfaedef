// Starts a real MinIO server (built from its Go module into .tools/bin) on a free loopback port with its own
// data directory: the object store of the integration tests, of `npm run stack:prod` and of local S3 experiments.
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { stopProcess } from './child-process.js';
import { freePort } from './free-port.js';
import { acquireGoTool, minioSpec, type Progress } from './go-tool.js';

export interface RunningMinio {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  stop(): Promise<void>;
}

export async function startMinio(
  projectRoot: string,
  dataDir: string,
  progress: Progress,
  /** A fixed port (the fault suite starts MinIO again where it was); a free one otherwise. */
  ports: { port?: number; consolePort?: number } = {},
): Promise<RunningMinio> {
  const tool = await acquireGoTool(projectRoot, minioSpec, progress);
  if (!tool) throw new Error('MinIO: no `minio` on PATH or in .tools/bin and no Go toolchain to build it');
  await mkdir(dataDir, { recursive: true });
  const [port, consolePort] = [ports.port ?? (await freePort()), ports.consolePort ?? (await freePort())];
  const accessKey = 'conduit-test';
  const secretKey = 'conduit-test-secret';
  const child = spawn(
    tool.path,
    ['server', dataDir, '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, '--quiet'],
    {
      env: { ...process.env, MINIO_ROOT_USER: accessKey, MINIO_ROOT_PASSWORD: secretKey, MINIO_BROWSER: 'off' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const errors: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => errors.push(chunk.toString()));
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`MinIO exited with code ${child.exitCode}: ${errors.join('').slice(-500)}`);
    try {
      const response = await fetch(`${endpoint}/minio/health/live`);
      if (response.ok) return { endpoint, accessKey, secretKey, stop: () => stopProcess(child) };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await stopProcess(child);
  throw new Error('MinIO did not become live within 60s');
}
