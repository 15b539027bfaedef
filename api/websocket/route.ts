// The description of GET /v1/ws. The hub (hub.ts) takes the upgrade on the HTTP server, not through Hono, and
// checks the permission named here; the OpenAPI document publishes it with the other routes.
import { bearer, defineRoute, errorResponses } from '../route-spec.js';

export const WEBSOCKET_PATH = '/v1/ws';

export const websocketRoute = defineRoute({
  method: 'get',
  path: WEBSOCKET_PATH,
  'x-permission': 'runs:read',
  summary: 'WebSocket: send message frames and receive run events; resume with ?last_event_id (docs/streaming.md)',
  security: bearer,
  responses: { 101: { description: 'Switching protocols' }, ...errorResponses },
});
