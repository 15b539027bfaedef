// The audit log over the management API (admin): GET /v1/audit lists entries newest first, filtered by action,
// actor and time and paged by sequence; POST /v1/audit/verify checks the hash chain now and updates the metric.
import { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { verifyAuditChain } from '../../audit/chain.js';
import { listAuditEntries } from '../../audit/query.js';
import type { ApiDeps, ApiEnv } from '../deps.js';
import { bearer, defineRoute, errorResponses, serve } from '../route-spec.js';

export const auditQuerySchema = z.object({
  action: z.string().min(1).max(100).optional().describe('Only this action, e.g. api_key.create'),
  actor: z.string().min(1).max(300).optional().describe('Only this actor, e.g. api:key_0123abcd'),
  since: z.iso.datetime({ offset: true }).optional().describe('Only entries at or after this time (ISO 8601)'),
  before: z.coerce.number().int().positive().optional().describe('Only entries older than this sequence: paging'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const listAuditRoute = defineRoute({
  method: 'get',
  path: '/v1/audit',
  'x-permission': 'audit:read',
  summary: 'Query the hash-chained audit log (admin)',
  security: bearer,
  request: { query: auditQuerySchema },
  responses: { 200: { description: 'Audit rows' }, ...errorResponses },
});

export const verifyAuditRoute = defineRoute({
  method: 'post',
  path: '/v1/audit/verify',
  'x-permission': 'audit:read',
  summary: 'Verify the audit chain now (admin)',
  security: bearer,
  responses: { 200: { description: 'Verification result' }, ...errorResponses },
});

export const auditRouteList = [listAuditRoute, verifyAuditRoute];

export function auditRoutes({ database, auditMonitor }: Pick<ApiDeps, 'database' | 'auditMonitor'>) {
  const app = new OpenAPIHono<ApiEnv>();

  serve(app, listAuditRoute, async (c) => {
    const query = c.req.valid('query');
    const page = await listAuditEntries(database.db, {
      ...query,
      since: query.since === undefined ? undefined : new Date(query.since),
    });
    return c.json(page);
  });

  serve(app, verifyAuditRoute, async (c) =>
    c.json(auditMonitor ? await auditMonitor.check() : await verifyAuditChain(database.db)),
  );

  return app;
}
