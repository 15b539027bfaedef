// One description per HTTP route: a `createRoute` config (method, full path, request schemas, answers) that also
// names who may call it (`x-permission`). The route is served from it (`serve`: the zod schemas validate with the
// house's issue formatter), the OpenAPI document is generated from it (api/openapi.ts), and the permission table
// the authorize middleware reads is derived from it (api/route-permissions.ts).

import { createRoute, type OpenAPIHono, type RouteConfig, type RouteHandler } from '@hono/zod-openapi';
import { zValidator } from '@hono/zod-validator';
import type { MiddlewareHandler, Next } from 'hono';
import { z } from 'zod';
import { validationHook, validationHookFor } from '../core/validation.js';
import type { Permission } from '../security/rbac.js';
import type { ApiEnv } from './deps.js';
import { errorSchema } from './schemas.js';

/** Who may call a route: a permission of security/rbac.ts, or anyone (`public`: health, webhooks, the docs). */
export type Access = Permission | 'public';

/** A route's description: an OpenAPI operation with the permission it needs (an `x-` extension, so it is published). */
export type ApiRoute = RouteConfig & {
  path: `/${string}`;
  'x-permission': Access;
  /** The permission also covers every path below this one for the same method (`GET /v1/runs/{id}/…`). */
  'x-permission-subpaths'?: boolean;
};

/** Describes a route; the config is returned as given, typed for `serve` and the handler. */
export const defineRoute = <const R extends ApiRoute>(route: R): R => createRoute(route);

/** Bearer credentials: an API key or an identity provider's JWT (api/middleware/authenticate.ts). */
export const bearer = [{ bearer: [] }];

export const jsonContent = <S extends z.ZodType>(schema: S) => ({ 'application/json': { schema } });

/** The refusals every authenticated route can answer, all with the usual error body. */
export const errorResponses = {
  400: { description: 'Invalid request', content: jsonContent(errorSchema) },
  401: { description: 'Missing or invalid credentials', content: jsonContent(errorSchema) },
  403: { description: 'Not permitted for this role', content: jsonContent(errorSchema) },
} as const;

type LooseHandler<R extends ApiRoute> = (
  c: Parameters<RouteHandler<R, ApiEnv>>[0],
  next: Next,
) => Response | Promise<Response>;

/**
 * Serves a described route on `app` and adds the description to its OpenAPI registry. The request schemas of
 * the description validate before the handler, each failure a 400 naming the first bad field (core/validation.ts):
 * a JSON body the way `zValidator('json')` reads it (another content type validates as `{}`), the query, the path
 * parameters. `bodyReadBy: 'handler'` leaves the body to a handler with its own reading rules (an optional body,
 * protobuf JSON); its schema is then only published. Unlike `app.openapi`, no media-type gate answers 415: what a
 * route answers to a body of another type stays what it always was.
 */
export function serve<R extends ApiRoute>(
  app: OpenAPIHono<ApiEnv>,
  route: R,
  handler: LooseHandler<R>,
  options: { bodyReadBy?: 'validator' | 'handler'; middleware?: MiddlewareHandler<ApiEnv>[] } = {},
): void {
  const { middleware, hide: _hide, ...described } = route;
  app.openAPIRegistry.registerPath(described);
  const validators = [];
  const { request } = route;
  if (request?.query) validators.push(zValidator('query', request.query, validationHookFor('query')));
  if (request?.params) validators.push(zValidator('param', request.params, validationHookFor('path')));
  const media = request?.body?.content['application/json'];
  const body = media && 'schema' in media ? media.schema : undefined;
  if (body instanceof z.ZodType && options.bodyReadBy !== 'handler') {
    validators.push(zValidator('json', body, validationHook));
  }
  const own = middleware === undefined ? [] : Array.isArray(middleware) ? middleware : [middleware];
  const before = [...own, ...(options.middleware ?? [])];
  app.on([route.method.toUpperCase()], [honoPath(route.path)], ...before, ...validators, handler as never);
}

/**
 * Publishes a route this app does not serve through Hono (GET /v1/ws is taken on the HTTP server's upgrade; /metrics
 * when metrics are off): described, and its permission read where it is served.
 */
export function publish(app: OpenAPIHono<ApiEnv>, route: ApiRoute): void {
  const { middleware: _middleware, hide: _hide, ...described } = route;
  app.openAPIRegistry.registerPath(described);
}

/** `/v1/runs/{workflowId}` as Hono routes it: `/v1/runs/:workflowId`. */
export const honoPath = (path: string) => path.replaceAll(/\{([^}]+)\}/g, ':$1');
