import type { Client } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../core/metrics.js';
import { createLogger } from '../pii/logger.js';
import { loadConfig } from '../platform/config.js';
import { API_ROUTES, HTTP_ROUTES } from './api-routes.js';
import { createApp } from './app.js';
import type { ApiDeps } from './deps.js';
import { openApiDocument } from './openapi.js';
import { createPermissionLookup } from './route-permissions.js';
import { honoPath } from './route-spec.js';

/** The app as a process builds it; nothing here is called, so the services are never reached. */
function buildApp() {
  const unused = new Proxy({}, { get: () => undefined });
  const deps = {
    config: loadConfig({ METRICS_ENABLED: 'true' }),
    temporal: { options: { loadedDataConverter: { payloadCodecs: [] } } } as unknown as Client,
    database: unused,
    blobs: unused,
    channels: new Map(),
    logger: createLogger('silent'),
    metrics: createMetrics(),
    verifyApiKey: async () => undefined,
  } as unknown as ApiDeps;
  return createApp(deps);
}

const key = (method: string, path: string) => `${method.toUpperCase()} ${path}`;

describe('the route descriptions', () => {
  const app = buildApp();
  // Middleware is registered for every method; each served route is a method and a path (with its middleware and
  // validators registered under the same pair).
  const served = [...new Set(app.routes.filter((route) => route.method !== 'ALL').map((r) => key(r.method, r.path)))];

  it('describe every route the app serves exactly once, each with a permission or as public', () => {
    expect(served.length).toBeGreaterThan(20);
    for (const route of served) {
      const descriptions = API_ROUTES.filter((d) => key(d.method, honoPath(d.path)) === route);
      expect(descriptions, route).toHaveLength(1);
      expect(descriptions[0]?.['x-permission'], route).toBeTruthy();
    }
  });

  it('are each served by the app, except GET /v1/ws, which the WebSocket hub serves', () => {
    const described = HTTP_ROUTES.map((d) => key(d.method, honoPath(d.path)));
    expect(described.sort()).toEqual([...served].sort());
    expect(API_ROUTES.filter((d) => !(HTTP_ROUTES as readonly object[]).includes(d)).map((d) => d.path)).toEqual([
      '/v1/ws',
    ]);
  });

  it('give the permission the authorize middleware asks for', () => {
    const permissionFor = createPermissionLookup();
    for (const route of HTTP_ROUTES) {
      const permission = route['x-permission'];
      if (permission === 'public') continue;
      const path = route.path.replaceAll(/\{[^}]+\}/g, 'x');
      expect(permissionFor(route.method.toUpperCase(), path), key(route.method, route.path)).toBe(permission);
    }
  });

  it('are what the served /openapi.json publishes', async () => {
    const response = await app.request('/openapi.json');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
  });

  it('close a route added without a description: the app fails the test above', () => {
    const extra = buildApp();
    extra.get('/v1/undescribed', (c) => c.json({}));
    const undescribed = extra.routes.filter(
      (r) => r.method !== 'ALL' && !API_ROUTES.some((d) => key(d.method, honoPath(d.path)) === key(r.method, r.path)),
    );
    expect(undescribed.map((r) => key(r.method, r.path))).toEqual(['GET /v1/undescribed']);
  });
});
