// The OpenAPI 3.1 description of the HTTP API (served at /openapi.json) and a self-contained docs page
// (/docs: no CDN, because many deployments have no internet access). The document is generated from the route
// descriptions (api/api-routes.ts): the zod schemas that validate requests, the answers, each route's permission.
import { OpenAPIHono } from '@hono/zod-openapi';
import { API_ROUTES } from './api-routes.js';
import type { ApiEnv } from './deps.js';
import { type Access, publish } from './route-spec.js';

/** The parts of the document outside the paths; the served app generates its own document with the same. */
export function documentConfig(serverUrl?: string) {
  return {
    openapi: '3.1.0',
    info: { title: 'Conduit API', version: '0.1.0', description: 'Chat in, durable Temporal runs, replies out.' },
    servers: serverUrl ? [{ url: serverUrl }] : [],
  };
}

/** The one security scheme: a bearer API key or JWT (api/middleware/authenticate.ts). */
export function registerSecuritySchemes(app: OpenAPIHono<ApiEnv>): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'API key or JWT',
  });
}

type Route = (typeof API_ROUTES)[number];
type JsonBody = { required?: boolean; content: { 'application/json': { schema: unknown } } };
type Operation<R> = {
  summary: string;
  security?: unknown[];
  parameters?: unknown[];
  responses: Record<string, unknown>;
  'x-permission': Access;
} & (R extends { request: { body: object } } ? { requestBody: JsonBody } : object);

/** The document's shape, as precise as the descriptions: each described path with its described methods. */
export interface ApiDocument {
  openapi: string;
  info: { title: string; version: string; description?: string };
  servers: { url: string }[];
  components: { securitySchemes: Record<string, unknown> };
  paths: {
    [P in Route['path']]: {
      [M in Extract<Route, { path: P }>['method']]: Operation<Extract<Route, { path: P; method: M }>>;
    };
  };
}

/** The document of every described route, as the app serves it at /openapi.json. */
export function openApiDocument(serverUrl?: string): ApiDocument {
  const app = new OpenAPIHono<ApiEnv>();
  registerSecuritySchemes(app);
  for (const route of API_ROUTES) publish(app, route);
  return app.getOpenAPI31Document(documentConfig(serverUrl)) as unknown as ApiDocument;
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"]/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[char] ?? char);

/** A readable page of every operation, rendered from the same document. */
export function docsPage(document: ApiDocument): string {
  const rows = Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.entries(
      operations as Record<string, { summary: string; security?: unknown[]; 'x-permission'?: Access }>,
    ).map(
      ([method, operation]) =>
        `<tr><td><code>${method.toUpperCase()}</code></td><td><code>${escapeHtml(path)}</code></td><td>${escapeHtml(operation.summary)}</td><td>${operation.security ? 'bearer' : 'none'}</td><td>${escapeHtml(operation['x-permission'] ?? '')}</td></tr>`,
    ),
  );
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Conduit API</title>
<style>body{font:15px system-ui,sans-serif;margin:2rem;max-width:70rem}td,th{padding:.3rem .6rem;text-align:left;border-bottom:1px solid #ddd}</style>
</head><body><h1>Conduit API</h1><p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${document.openapi}).</p>
<table><thead><tr><th>Method</th><th>Path</th><th>What it does</th><th>Auth</th><th>Permission</th></tr></thead><tbody>${rows.join('')}</tbody></table></body></html>`;
}
