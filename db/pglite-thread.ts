// The thread that owns the embedded PGlite store when `npm start` runs the worker in a thread of its own
// (db/client.ts openPgliteThread): opens and migrates the store, then answers every thread of the process that
// is handed a port to it (db/pglite-remote.ts), until the main thread says close.
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { openPglite } from './client.js';
import { servePglite } from './pglite-remote.js';

const { dir, port } = workerData as { dir: string; port: MessagePort };
const control = parentPort!;
try {
  const handle = await openPglite(dir);
  await handle.migrate();
  servePglite(handle.client, port);
  control.on('message', async (message: { type: 'connect'; port: MessagePort } | { type: 'close' }) => {
    if (message.type === 'connect') servePglite(handle.client, message.port);
    else {
      await handle.close();
      control.postMessage({ type: 'closed' });
      control.close();
    }
  });
  control.postMessage({ type: 'ready' });
} catch (error) {
  control.postMessage({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
}
