// Starts and stops Conduit processes for the bench (bench/support/instance-main.ts), with their logs in a
// file of the scenario's temp directory so a failure can be explained and a busy log never back-pressures.
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { nodeProcessEnv } from '../../platform/node-process-env.js';
import type { BenchContext } from './context.js';
import type { InstanceReady, InstanceSpec } from './instance-main.js';

export interface Instance extends InstanceReady {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** SIGTERM and wait (drains the worker); SIGKILL after the grace period. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL, as a crash: no draining, no cleanup. */
  kill(): Promise<void>;
}

export async function startInstance(
  ctx: Pick<BenchContext, 'projectRoot' | 'cpuProfileDir'>,
  name: string,
  spec: InstanceSpec,
  env: Record<string, string>,
  logDir: string,
  options: { timeoutMs?: number; nodeArgs?: string[] } = {},
): Promise<Instance> {
  const { projectRoot } = ctx;
  const timeoutMs = options.timeoutMs ?? 120_000;
  // One directory per process: the main thread and tsx's loader thread each write a profile.
  const profile = ctx.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(ctx.cpuProfileDir, name)}`] : [];
  const logFile = join(logDir, `${name}.log`);
  const log = openSync(logFile, 'a');
  const child = spawn(
    process.execPath,
    [
      ...profile,
      ...(options.nodeArgs ?? []),
      '--import',
      'tsx',
      join(projectRoot, 'bench/support/instance-main.ts'),
      JSON.stringify(spec),
    ],
    {
      cwd: projectRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...nodeProcessEnv(), ...env },
      stdio: ['ignore', log, log, 'pipe'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<InstanceReady>((resolve, reject) => {
    let output = '';
    const fail = async (why: string) => {
      const tail = (await readFile(logFile, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
      reject(new Error(`instance ${name} ${why}; log ${logFile}:\n${tail}`));
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      void fail(`not ready within ${timeoutMs} ms`);
    }, timeoutMs);
    const control = child.stdio[3] as Readable;
    control.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n').find((l) => l.startsWith('BENCH_READY '));
      if (line) {
        clearTimeout(timer);
        control.destroy();
        resolve(JSON.parse(line.slice('BENCH_READY '.length)) as InstanceReady);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      void fail(`exited (${code ?? signal}) before it was ready`);
    });
  });
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  return {
    ...ready,
    name,
    child,
    logFile,
    async stop(graceMs = 25_000) {
      if (gone()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (gone()) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
