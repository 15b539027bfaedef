// Waiting work a chat user can see: reminders and approvals. Rows mirror the workflows that own them: a row is
// written once when the work starts waiting and leaves `pending` once, whoever (or whatever retry) gets there.
import { and, eq } from 'drizzle-orm';
import type { Metrics } from '../core/metrics.js';
import type { Database } from '../db/client.js';
import { jobs } from '../db/schema.js';

export type JobKind = 'reminder' | 'approval';
export type JobStatus = (typeof jobs.$inferSelect)['status'];

export interface NewJob {
  id: string;
  kind: JobKind;
  workflowId: string;
  channel: string;
  /** The conversations-table key (`channel:externalId`). */
  conversationId: string;
  ownerId: string;
  summary: string;
  dueAtMs?: number;
}

/** Records a pending job once (a retried activity or tool call inserts nothing twice). */
export async function insertJob(db: Database, metrics: Metrics, job: NewJob): Promise<void> {
  const inserted = await db
    .insert(jobs)
    .values({
      id: job.id,
      kind: job.kind,
      workflowId: job.workflowId,
      channel: job.channel,
      conversationId: job.conversationId,
      ownerId: job.ownerId,
      summary: job.summary,
      dueAt: job.dueAtMs === undefined ? undefined : new Date(job.dueAtMs),
    })
    .onConflictDoNothing()
    .returning({ id: jobs.id });
  if (inserted.length > 0) metrics.pendingJobs.inc({ kind: job.kind });
}

/** Moves a pending job to its final status; a job no longer pending is left as it is. */
export async function finishJob(
  db: Database,
  metrics: Metrics,
  jobId: string,
  status: Exclude<JobStatus, 'pending'>,
): Promise<void> {
  const updated = await db
    .update(jobs)
    .set({ status, updatedAt: new Date() })
    .where(and(eq(jobs.id, jobId), eq(jobs.status, 'pending')))
    .returning({ kind: jobs.kind });
  if (updated[0]) metrics.pendingJobs.dec({ kind: updated[0].kind });
}

/** The /jobs answer: one line per pending job of this user on this channel. */
export async function describePendingJobs(
  db: Database,
  { ownerId, channel }: { ownerId: string; channel: string },
): Promise<string> {
  const pending = await db
    .select()
    .from(jobs)
    .where(and(eq(jobs.ownerId, ownerId), eq(jobs.channel, channel), eq(jobs.status, 'pending')))
    .orderBy(jobs.createdAt);
  if (pending.length === 0) return 'You have no pending reminders or approvals.';
  const lines = pending.map((job) =>
    job.kind === 'reminder'
      ? `- ${job.id}: reminder "${job.summary}" due ${job.dueAt?.toISOString() ?? 'soon'}`
      : `- ${job.id}: waiting for approval to ${job.summary}`,
  );
  return `Pending jobs:\n${lines.join('\n')}\n/cancel <id> to cancel one.`;
}
