// `npm run stack:prod`: the production topology on this machine (scripts/prod-stack.ts): the Temporal server on
// PostgreSQL, MinIO, two API processes behind nginx and two workers. Data stays under ./data/stack-prod and in
// the conduit_prod* databases between starts; Ctrl-C or SIGTERM stops every process.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProdStack } from './prod-stack.js';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const progress = (line: string) => console.error(`stack: ${line}`);
const port = process.env.PORT ? Number(process.env.PORT) : 8080;

try {
  const stack = await startProdStack({
    projectRoot,
    dir: resolve(process.env.STACK_DIR ?? 'data/stack-prod'),
    postgresUrl: process.env.STACK_POSTGRES_URL,
    port,
    progress,
  });
  console.error(
    [
      '',
      'Conduit production topology is ready',
      `  API (nginx)   ${stack.url}   -> ${stack.apis.map((api) => api.url).join(', ')}`,
      `  Workers       ${stack.workers.map((worker) => `${worker.url}/metrics`).join(', ')}`,
      `  Temporal      ${stack.temporalAddress} (PostgreSQL)`,
      `  Admin key     ${stack.adminKey}`,
      `  Logs          ${resolve(process.env.STACK_DIR ?? 'data/stack-prod', 'logs')}`,
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    progress(`${signal}: stopping every process`);
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
} catch (error) {
  console.error(`stack: failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
