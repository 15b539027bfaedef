// `npm start`: the whole platform on embedded defaults (Temporal dev server, PGlite, filesystem store).
import { runProcess } from './run-process.js';

await runProcess('all');
