// Composes the HTTP API: health and metrics at the root, channel webhooks under /webhooks (each platform's
// own signature), the management API under /v1 and the payload codec under /codec (bearer API key or JWT,
// role checks, IP allowlists and rate limits from guards.ts).
import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { NotFoundError } from '../core/errors.js';
import type { ApiDeps, ApiEnv } from './deps.js';
import { createErrorHandler } from './errors.js';
import { createGuards } from './guards.js';
import { limitBody, MAX_API_BODY_BYTES } from './middleware/body-limit.js';
import { requestMetrics } from './middleware/request-metrics.js';
import { urlGuard } from './middleware/url-guard.js';
import { docsPage, openApiDocument } from './openapi.js';
import { auditRoutes } from './routes/audit.js';
import { codecRoutes } from './routes/codec.js';
import { healthRoutes } from './routes/health.js';
import { keyRoutes } from './routes/keys.js';
import { privacyRoutes } from './routes/privacy.js';
import { scheduleRoutes } from './routes/schedules.js';
import { v1Routes } from './routes/v1.js';
import { webhookRoutes } from './routes/webhooks.js';

export function createApp(deps: ApiDeps) {
  const app = new Hono<ApiEnv>();
  const guards = createGuards(deps);
  app.use(requestId());
  app.use(secureHeaders());
  app.use(requestMetrics(deps.metrics));
  app.use(urlGuard());
  app.route('/', healthRoutes(deps));
  if (deps.config.metrics.enabled) {
    app.get('/metrics', async (c) => {
      c.header('Content-Type', deps.metrics.registry.contentType);
      return c.body(await deps.metrics.registry.metrics());
    });
  }
  const document = openApiDocument();
  app.get('/openapi.json', (c) => c.json(document));
  app.get('/docs', (c) => c.html(docsPage(document)));
  app.use('/webhooks/*', guards.webhooks);
  app.route('/webhooks', webhookRoutes(deps));
  // Temporal's codec server protocol for the UI and CLI: decrypts run payloads for authorized callers.
  app.use('/codec/*', guards.codec);
  app.route('/codec', codecRoutes(deps));
  const v1 = new Hono<ApiEnv>();
  v1.use(guards.v1);
  // After the guards, so only an authorized caller gets a body read at all, and then at most this much.
  v1.use(limitBody(MAX_API_BODY_BYTES, 'request bodies'));
  v1.get('/whoami', (c) => c.json({ principal: c.get('principal') }));
  v1.route('/keys', keyRoutes(deps));
  v1.route('/audit', auditRoutes(deps));
  v1.route('/privacy', privacyRoutes(deps));
  v1.route('/schedules', scheduleRoutes(deps));
  v1.route('/', v1Routes(deps));
  app.route('/v1', v1);
  app.notFound(() => {
    throw new NotFoundError('no such route');
  });
  app.onError(createErrorHandler(deps.logger));
  return app;
}
