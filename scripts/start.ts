// `npm start`: the whole platform on embedded defaults (Temporal dev server, PGlite, filesystem store), the API on
// the main thread and the worker on a thread of its own (docs/architecture.md).
import { runProcess } from '../platform/run-process.js';
import { startPlatform } from './conduit.js';

await runProcess('all', (config, options) => startPlatform(config, { ...options, workerThread: true }));
