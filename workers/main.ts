// `npm run worker`: a worker alone, for deployments that scale workers apart from the API.
import { startRoles } from '../platform/open-services.js';
import { runProcess } from '../platform/run-process.js';
import { workerRole } from './start-worker.js';

// With no API in the process, the worker serves /metrics, /healthz and /readyz on METRICS_PORT.
await runProcess('worker', (config, options) => startRoles(config, options, [workerRole({ metricsServer: true })]));
