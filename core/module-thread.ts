// Starts a worker thread on one of the project's TypeScript modules. The main thread runs under `node --import
// tsx`, but on Node 20 a worker thread does not inherit the loader hooks, so the thread registers tsx itself
// before it imports the module.
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function startModuleThread(moduleUrl: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const source = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(moduleUrl.href)}); })`;
  return new Worker(source, { ...options, eval: true });
}
