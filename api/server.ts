// `npm run api`: the HTTP API alone, for deployments that run API replicas apart from workers.
import { runProcess } from '../runtime/main.js';

await runProcess('api');
