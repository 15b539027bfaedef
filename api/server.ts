// `npm run api`: the HTTP API alone, for deployments that run API replicas apart from workers.
import { startRoles } from '../platform/open-services.js';
import { runProcess } from '../platform/run-process.js';
import { apiRole } from './start-api.js';

await runProcess('api', (config, options) => startRoles(config, options, [apiRole]));
