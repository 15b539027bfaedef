// Reading the audit log for GET /v1/audit: newest first, filtered by action, actor and time, paged by sequence.
import { and, desc, eq, gte, lt } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { auditLog } from '../db/schema.js';
import type { AuditRecord } from './chain.js';

export interface AuditQuery {
  action?: string;
  actor?: string;
  since?: Date;
  /** Only rows with a smaller sequence: the `next` of the previous page. */
  before?: number;
  limit: number;
}

export async function listAuditEntries(
  db: Database,
  query: AuditQuery,
): Promise<{ entries: AuditRecord[]; next?: number }> {
  const conditions = [
    query.action ? eq(auditLog.action, query.action) : undefined,
    query.actor ? eq(auditLog.actor, query.actor) : undefined,
    query.since ? gte(auditLog.at, query.since) : undefined,
    query.before !== undefined ? lt(auditLog.sequence, query.before) : undefined,
  ].filter((condition) => condition !== undefined);
  const rows = await db
    .select()
    .from(auditLog)
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(desc(auditLog.sequence))
    .limit(query.limit + 1);
  const entries = rows.slice(0, query.limit);
  return { entries, next: rows.length > query.limit ? entries.at(-1)?.sequence : undefined };
}
