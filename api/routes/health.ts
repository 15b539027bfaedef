// Liveness (/healthz: the process answers) and readiness (/readyz: Temporal, the database and the object
// store all answer; otherwise 503 naming each component that failed).
import { Hono } from 'hono';
import type { ApiDeps } from '../deps.js';

const CHECK_TIMEOUT_MS = 3000;

async function check(fn: () => Promise<unknown>): Promise<{ ok: true } | { ok: false; error: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { ok: true };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message.split('\n')[0]! : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes({ temporal, database, blobs, config }: ApiDeps) {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const [temporalCheck, databaseCheck, storeCheck] = await Promise.all([
      check(() => temporal.workflowService.describeNamespace({ namespace: config.temporal.namespace })),
      check(() => database.ping()),
      check(() => blobs.ping()),
    ]);
    const components = { temporal: temporalCheck, database: databaseCheck, objectStore: storeCheck };
    const failed = Object.entries(components)
      .filter(([, result]) => !result.ok)
      .map(([name]) => name);
    return c.json(
      { status: failed.length === 0 ? 'ready' : 'unavailable', failed, components },
      failed.length === 0 ? 200 : 503,
    );
  });
  return app;
}
