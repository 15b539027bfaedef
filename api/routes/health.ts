// Liveness (/healthz: the process answers) and readiness (/readyz: Temporal, the database and the object
// store all answer; otherwise 503 naming each component that failed).
import { OpenAPIHono } from '@hono/zod-openapi';
import type { ApiDeps, ApiEnv } from '../deps.js';
import { defineRoute, publish, serve } from '../route-spec.js';

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

export const livenessRoute = defineRoute({
  method: 'get',
  path: '/healthz',
  'x-permission': 'public',
  summary: 'Liveness',
  responses: { 200: { description: 'The process answers' } },
});

export const readinessRoute = defineRoute({
  method: 'get',
  path: '/readyz',
  'x-permission': 'public',
  summary: 'Readiness of Temporal, the database and the object store',
  responses: { 200: { description: 'Ready' }, 503: { description: 'Names the components that failed' } },
});

export const metricsRoute = defineRoute({
  method: 'get',
  path: '/metrics',
  'x-permission': 'public',
  summary: 'Prometheus metrics',
  responses: { 200: { description: 'Text exposition format' } },
});

export const healthRouteList = [livenessRoute, readinessRoute, metricsRoute];

/** The /readyz checks, also shown on the console's health screen. */
export async function readiness({ temporal, database, blobs, config }: ApiDeps) {
  const [temporalCheck, databaseCheck, storeCheck] = await Promise.all([
    check(() => temporal.workflowService.describeNamespace({ namespace: config.temporal.namespace })),
    check(() => database.ping()),
    check(() => blobs.ping()),
  ]);
  const components = { temporal: temporalCheck, database: databaseCheck, objectStore: storeCheck };
  const failed = Object.entries(components)
    .filter(([, result]) => !result.ok)
    .map(([name]) => name);
  return { components, failed };
}

export function healthRoutes(deps: ApiDeps) {
  const { config, metrics } = deps;
  const app = new OpenAPIHono<ApiEnv>();
  serve(app, livenessRoute, (c) => c.json({ status: 'ok' }));
  serve(app, readinessRoute, async (c) => {
    const { components, failed } = await readiness(deps);
    return c.json(
      { status: failed.length === 0 ? 'ready' : 'unavailable', failed, components },
      failed.length === 0 ? 200 : 503,
    );
  });
  // Described either way; served only when METRICS_ENABLED (otherwise the usual 404).
  if (config.metrics.enabled) {
    serve(app, metricsRoute, async (c) => {
      c.header('Content-Type', metrics.registry.contentType);
      return c.body(await metrics.registry.metrics());
    });
  } else {
    publish(app, metricsRoute);
  }
  return app;
}
