// The two-person rule for erasing a user's data (PRIVACY_ERASURE_TWO_PERSON): the first admin's request is
// written to the audit log, and the erasure runs when a different admin asks for the same user within a day.
// The audit log is the only state, so the rule holds across API replicas and leaves its own trail.
import { and, desc, eq, gt, gte } from 'drizzle-orm';
import { appendAudit } from '../audit/chain.js';
import type { Database } from '../db/client.js';
import { auditLog } from '../db/schema.js';

export const ERASURE_REQUEST_ACTION = 'privacy.erase.request';
export const ERASURE_ACTION = 'privacy.erase';
export const ERASURE_REQUEST_TTL_MS = 24 * 3_600_000;

export type ErasureApproval = { approved: true; requestedBy: string } | { approved: false; expiresAt: Date };

/** Approves when another actor's open request exists; otherwise records this actor's request (once). */
export async function approveErasure(
  db: Database,
  target: string,
  actor: string,
  now = new Date(),
): Promise<ErasureApproval> {
  const [lastErasure] = await db
    .select({ sequence: auditLog.sequence })
    .from(auditLog)
    .where(and(eq(auditLog.action, ERASURE_ACTION), eq(auditLog.target, target)))
    .orderBy(desc(auditLog.sequence))
    .limit(1);
  const open = await db
    .select({ actor: auditLog.actor, at: auditLog.at })
    .from(auditLog)
    .where(
      and(
        eq(auditLog.action, ERASURE_REQUEST_ACTION),
        eq(auditLog.target, target),
        gte(auditLog.at, new Date(now.getTime() - ERASURE_REQUEST_TTL_MS)),
        // A request is used up by the erasure it led to.
        gt(auditLog.sequence, lastErasure?.sequence ?? 0),
      ),
    )
    .orderBy(desc(auditLog.sequence));
  const other = open.find((request) => request.actor !== actor);
  if (other) return { approved: true, requestedBy: other.actor };
  const own = open.find((request) => request.actor === actor);
  if (!own) await appendAudit(db, { actor, action: ERASURE_REQUEST_ACTION, target });
  const requestedAt = own?.at ?? now;
  return { approved: false, expiresAt: new Date(requestedAt.getTime() + ERASURE_REQUEST_TTL_MS) };
}
