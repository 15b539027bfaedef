// Composes the HTTP API: health and metrics at the root, channel webhooks under /webhooks (each platform's
// own signature), the management API under /v1 and the payload codec under /codec (bearer API key or JWT,
// role checks, IP allowlists and rate limits from guards.ts). Every route is served from its description
// (api/route-spec.ts), and /openapi.json is generated from the descriptions this app was built with.
import { OpenAPIHono } from '@hono/zod-openapi';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { NotFoundError } from '../core/errors.js';
import { docsRoute, openApiRoute } from './api-routes.js';
import { consoleRoutes } from './console/app.js';
import type { ApiDeps, ApiEnv } from './deps.js';
import { createErrorHandler } from './errors.js';
import { createGuards } from './guards.js';
import { limitBody, MAX_API_BODY_BYTES } from './middleware/body-limit.js';
import { requestMetrics } from './middleware/request-metrics.js';
import { urlGuard } from './middleware/url-guard.js';
import { type ApiDocument, docsPage, documentConfig, registerSecuritySchemes } from './openapi.js';
import { publish, serve } from './route-spec.js';
import { auditRoutes } from './routes/audit.js';
import { codecRoutes } from './routes/codec.js';
import { healthRoutes } from './routes/health.js';
import { keyRoutes } from './routes/keys.js';
import { privacyRoutes } from './routes/privacy.js';
import { scheduleRoutes } from './routes/schedules.js';
import { v1Routes } from './routes/v1.js';
import { webhookRoutes } from './routes/webhooks.js';
import { websocketRoute } from './websocket/route.js';

export function createApp(deps: ApiDeps) {
  const app = new OpenAPIHono<ApiEnv>();
  const guards = createGuards(deps);
  app.use(requestId());
  app.use(secureHeaders());
  app.use(requestMetrics(deps.metrics));
  app.use(urlGuard());
  app.route('/', healthRoutes(deps));
  app.use('/webhooks/*', guards.webhooks);
  app.route('/', webhookRoutes(deps));
  // Temporal's codec server protocol for the UI and CLI: decrypts run payloads for authorized callers.
  app.use('/codec/*', guards.codec);
  app.route('/', codecRoutes(deps));
  // The console: HTML for people, not API, so it is mounted as its own app (not described in /openapi.json)
  // with its own authentication: a session cookie and CSRF tokens (api/console/sessions.ts).
  app.use('/console/*', guards.console);
  const consoleApp = consoleRoutes(deps);
  consoleApp.onError(createErrorHandler(deps.logger));
  app.mount('/console', consoleApp.fetch, { replaceRequest: false });
  app.use('/v1/*', guards.v1);
  // After the guards, so only an authorized caller gets a body read at all, and then at most this much.
  app.use('/v1/*', limitBody(MAX_API_BODY_BYTES, 'request bodies'));
  app.route('/', keyRoutes(deps));
  app.route('/', auditRoutes(deps));
  app.route('/', privacyRoutes(deps));
  app.route('/', scheduleRoutes(deps));
  app.route('/', v1Routes(deps));
  // GET /v1/ws is taken on the HTTP server's upgrade (api/websocket/hub.ts): described here, served there.
  publish(app, websocketRoute);
  registerSecuritySchemes(app);
  let document: ApiDocument | undefined;
  serve(app, openApiRoute, (c) => c.json(document));
  serve(app, docsRoute, (c) => c.html(docsPage(document as ApiDocument)));
  document = app.getOpenAPI31Document(documentConfig()) as unknown as ApiDocument;
  app.notFound(() => {
    throw new NotFoundError('no such route');
  });
  app.onError(createErrorHandler(deps.logger));
  return app;
}
