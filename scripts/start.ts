// `npm start`: the whole platform on embedded defaults (Temporal dev server, PGlite, filesystem store).
import { runProcess } from '../runtime/main.js';

await runProcess('all');
