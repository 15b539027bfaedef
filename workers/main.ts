// `npm run worker`: a worker alone, for deployments that scale workers apart from the API.
import { runProcess } from '../scripts/run-process.js';

await runProcess('worker');
