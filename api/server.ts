// `npm run api`: the HTTP API alone, for deployments that run API replicas apart from workers.
import { runProcess } from '../scripts/run-process.js';

await runProcess('api');
