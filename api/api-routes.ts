// Every route of the API, one description each (api/route-spec.ts). The OpenAPI document is generated from this
// list, and the permission table (api/route-permissions.ts) is derived from the routes served through Hono; a
// test checks that each route the app serves is here exactly once (api/api-routes.test.ts).
import { type ApiRoute, defineRoute } from './route-spec.js';
import { auditRouteList } from './routes/audit.js';
import { codecRouteList } from './routes/codec.js';
import { healthRouteList } from './routes/health.js';
import { keyRouteList } from './routes/keys.js';
import { privacyRouteList } from './routes/privacy.js';
import { scheduleRouteList } from './routes/schedules.js';
import { v1RouteList } from './routes/v1.js';
import { webhookRouteList } from './routes/webhooks.js';
import { websocketRoute } from './websocket/route.js';

export const openApiRoute = defineRoute({
  method: 'get',
  path: '/openapi.json',
  'x-permission': 'public',
  summary: 'This document: the OpenAPI 3.1 description of the API',
  responses: { 200: { description: 'The document' } },
});

export const docsRoute = defineRoute({
  method: 'get',
  path: '/docs',
  'x-permission': 'public',
  summary: 'A readable page of every operation, rendered from this document',
  responses: { 200: { description: 'An HTML page' } },
});

/** The routes the Hono app serves. */
export const HTTP_ROUTES = [
  ...healthRouteList,
  openApiRoute,
  docsRoute,
  ...webhookRouteList,
  ...codecRouteList,
  ...v1RouteList,
  ...keyRouteList,
  ...auditRouteList,
  ...privacyRouteList,
  ...scheduleRouteList,
] satisfies readonly ApiRoute[];

/** Every route of the API: those of the Hono app and GET /v1/ws, which the WebSocket hub serves. */
export const API_ROUTES = [...HTTP_ROUTES, websocketRoute] satisfies readonly ApiRoute[];
