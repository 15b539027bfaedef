// API key management for admins (`keys:manage`): list keys, create one (the key is in this response only),
// revoke one. The same operations are on the command line as `npm run keys`.
import { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { NotFoundError } from '../../core/errors.js';
import { ROLES } from '../../security/rbac.js';
import { createApiKey, listApiKeys, revokeApiKey } from '../admin-keys.js';
import type { ApiDeps, ApiEnv } from '../deps.js';
import { bearer, defineRoute, errorResponses, jsonContent, serve } from '../route-spec.js';
import { errorSchema } from '../schemas.js';

const createSchema = z.object({
  name: z.string().regex(/^[\w .:@-]{1,100}$/, 'expected 1-100 letters, digits, spaces or ._:@-'),
  role: z.enum(ROLES),
});

export const listKeysRoute = defineRoute({
  method: 'get',
  path: '/v1/keys',
  'x-permission': 'keys:manage',
  summary: 'API keys (never the keys themselves)',
  security: bearer,
  responses: { 200: { description: 'Keys' }, ...errorResponses },
});

export const createKeyRoute = defineRoute({
  method: 'post',
  path: '/v1/keys',
  'x-permission': 'keys:manage',
  summary: 'Create an API key; the key is in this answer only',
  security: bearer,
  request: { body: { required: true, content: jsonContent(createSchema) } },
  responses: { 201: { description: 'Created' }, ...errorResponses },
});

export const revokeKeyRoute = defineRoute({
  method: 'delete',
  path: '/v1/keys/{id}',
  'x-permission': 'keys:manage',
  summary: 'Revoke an API key',
  security: bearer,
  request: { params: z.object({ id: z.string() }) },
  responses: {
    200: { description: 'Revoked' },
    404: { description: 'No such active key', content: jsonContent(errorSchema) },
    ...errorResponses,
  },
});

export const keyRouteList = [listKeysRoute, createKeyRoute, revokeKeyRoute];

export function keyRoutes({ database }: Pick<ApiDeps, 'database'>) {
  const app = new OpenAPIHono<ApiEnv>();

  serve(app, listKeysRoute, async (c) => c.json({ keys: await listApiKeys(database.db) }));

  serve(app, createKeyRoute, async (c) => {
    const { name, role } = c.req.valid('json');
    const { id, key } = await createApiKey(database.db, name, role, `api:${c.get('principal').keyId}`);
    return c.json({ id, name, role, key }, 201);
  });

  serve(app, revokeKeyRoute, async (c) => {
    const id = c.req.param('id');
    if (!(await revokeApiKey(database.db, id, `api:${c.get('principal').keyId}`))) {
      throw new NotFoundError(`no active key ${id}`);
    }
    return c.json({ ok: true, id });
  });

  return app;
}
