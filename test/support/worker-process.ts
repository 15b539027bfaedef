// Worker processes as `npm run worker` starts them (workers/main.ts, each its own OS process), against the shared
// test services, for tests that kill, stop or replace workers: started from this tree or from another checkout
// (an earlier release of the code), stopped with the signal the test names.
import { type ChildProcess, spawn } from 'node:child_process';
import { inject } from 'vitest';
import { freePort } from '../../platform/free-port.js';
import { projectRoot } from './platform.js';

export interface WorkerProcesses {
  /** Starts a worker from `root` (this tree by default) and resolves once it reports ready. */
  start(root?: string): Promise<ChildProcess>;
  /** Sends `signal` and resolves when the process has exited. */
  stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void>;
  /** SIGKILLs every worker still running. */
  killAll(): Promise<void>;
}

/** `env`: what the workers need beyond the shared services (task queue, keys, the model, the data directory). */
export function workerProcesses(env: () => Record<string, string>): WorkerProcesses {
  const running = new Set<ChildProcess>();
  const stop = (child: ChildProcess, signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  return {
    async start(root = projectRoot) {
      const s3 = inject('s3');
      const child = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
        cwd: root,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          TEMPORAL_ADDRESS: inject('temporalAddress'),
          DATABASE_URL: inject('databaseUrl'),
          S3_ENDPOINT: s3.endpoint,
          S3_ACCESS_KEY: s3.accessKey,
          S3_SECRET_KEY: s3.secretKey,
          S3_BUCKET: 'conduit-test',
          LOG_LEVEL: 'warn',
          // Its own port: the default 9464 may be taken by another test file's worker (the start then exits 1).
          METRICS_PORT: String(await freePort()),
          ...env(),
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      running.add(child);
      child.once('exit', () => running.delete(child));
      let output = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`worker not ready in time:\n${output.slice(-2000)}`)), 60_000);
        child.stderr?.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('is ready')) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`worker exited with ${code}:\n${output.slice(-2000)}`));
        });
      });
      return child;
    },
    stop,
    async killAll() {
      await Promise.all([...running].map((child) => stop(child, 'SIGKILL')));
    },
  };
}
