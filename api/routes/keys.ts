// API key management for admins (`keys:manage`): list keys, create one (the key is in this response only),
// revoke one. The same operations are on the command line as `npm run keys`.
import { zValidator } from '@hono/zod-validator';
import { Hono } from 'hono';
import { z } from 'zod';
import { NotFoundError } from '../../core/errors.js';
import { validationHook } from '../../core/validation.js';
import { ROLES } from '../../security/rbac.js';
import { createApiKey, listApiKeys, revokeApiKey } from '../admin-keys.js';
import type { ApiDeps, ApiEnv } from '../deps.js';

const createSchema = z.object({
  name: z.string().regex(/^[\w .:@-]{1,100}$/, 'expected 1-100 letters, digits, spaces or ._:@-'),
  role: z.enum(ROLES),
});

export function keyRoutes({ database }: Pick<ApiDeps, 'database'>) {
  const app = new Hono<ApiEnv>();

  app.get('/', async (c) => c.json({ keys: await listApiKeys(database.db) }));

  app.post('/', zValidator('json', createSchema, validationHook), async (c) => {
    const { name, role } = c.req.valid('json');
    const { id, key } = await createApiKey(database.db, name, role, `api:${c.get('principal').keyId}`);
    return c.json({ id, name, role, key }, 201);
  });

  app.delete('/:id', async (c) => {
    const id = c.req.param('id');
    if (!(await revokeApiKey(database.db, id, `api:${c.get('principal').keyId}`))) {
      throw new NotFoundError(`no active key ${id}`);
    }
    return c.json({ ok: true, id });
  });

  return app;
}
