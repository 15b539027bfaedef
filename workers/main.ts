// `npm run worker`: a worker alone, for deployments that scale workers apart from the API.
import { runProcess } from '../runtime/main.js';

await runProcess('worker');
