// Composes the HTTP API: health and metrics at the root, channel webhooks under /webhooks (each platform's
// own signature), and the management API under /v1 (bearer API key).
import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import { NotFoundError } from '../core/errors.js';
import type { ApiDeps, ApiEnv } from './deps.js';
import { createErrorHandler } from './errors.js';
import { apiKeyAuth } from './middleware/api-key-auth.js';
import { requestMetrics } from './middleware/request-metrics.js';
import { healthRoutes } from './routes/health.js';
import { v1Routes } from './routes/v1.js';
import { webhookRoutes } from './routes/webhooks.js';

export function createApp(deps: ApiDeps) {
  const app = new Hono<ApiEnv>();
  app.use(requestId());
  app.use(requestMetrics(deps.metrics));
  app.route('/', healthRoutes(deps));
  app.get('/metrics', async (c) => {
    c.header('Content-Type', deps.metrics.registry.contentType);
    return c.body(await deps.metrics.registry.metrics());
  });
  app.route('/webhooks', webhookRoutes(deps));
  const v1 = new Hono<ApiEnv>();
  v1.use(apiKeyAuth(deps.verifyApiKey));
  v1.route('/', v1Routes(deps));
  app.route('/v1', v1);
  app.notFound(() => {
    throw new NotFoundError('no such route');
  });
  app.onError(createErrorHandler(deps.logger));
  return app;
}
