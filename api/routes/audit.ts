// The audit log over the management API (admin): GET /v1/audit lists entries newest first, filtered by action,
// actor and time and paged by sequence; POST /v1/audit/verify checks the hash chain now and updates the metric.
import { zValidator } from '@hono/zod-validator';
import { Hono } from 'hono';
import { z } from 'zod';
import { verifyAuditChain } from '../../audit/chain.js';
import { listAuditEntries } from '../../audit/query.js';
import { validationHookFor } from '../../core/validation.js';
import type { ApiDeps, ApiEnv } from '../deps.js';

export const auditQuerySchema = z.object({
  action: z.string().min(1).max(100).optional().describe('Only this action, e.g. api_key.create'),
  actor: z.string().min(1).max(300).optional().describe('Only this actor, e.g. api:key_0123abcd'),
  since: z.iso.datetime({ offset: true }).optional().describe('Only entries at or after this time (ISO 8601)'),
  before: z.coerce.number().int().positive().optional().describe('Only entries older than this sequence: paging'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export function auditRoutes({ database, auditMonitor }: Pick<ApiDeps, 'database' | 'auditMonitor'>) {
  const app = new Hono<ApiEnv>();

  app.get('/', zValidator('query', auditQuerySchema, validationHookFor('query')), async (c) => {
    const query = c.req.valid('query');
    const page = await listAuditEntries(database.db, {
      ...query,
      since: query.since === undefined ? undefined : new Date(query.since),
    });
    return c.json(page);
  });

  app.post('/verify', async (c) =>
    c.json(auditMonitor ? await auditMonitor.check() : await verifyAuditChain(database.db)),
  );

  return app;
}
