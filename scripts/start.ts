// `npm start`: the whole platform on embedded defaults (Temporal dev server, PGlite, filesystem store).
import { runProcess } from '../platform/run-process.js';
import { startPlatform } from './conduit.js';

await runProcess('all', startPlatform);
