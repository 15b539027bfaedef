// Starts a worker thread on one of the project's TypeScript modules. The main thread runs under `node --import
// tsx`, but on Node 20 a worker thread does not inherit the loader hooks, so the thread registers tsx itself
// before it imports the module. And how a thread steps back behind the others of its process.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function startModuleThread(moduleUrl: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const source = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(moduleUrl.href)}); })`;
  return new Worker(source, { ...options, eval: true });
}

/**
 * Lowers the scheduling priority of the calling thread (Linux: nice is per thread, and threads this one starts
 * afterwards inherit it); elsewhere, or when refused, nothing happens. Returns whether it was lowered.
 */
export function lowerThreadPriority(nice: number): boolean {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid)) return false;
    setPriority(tid, nice);
    return true;
  } catch {
    return false;
  }
}
