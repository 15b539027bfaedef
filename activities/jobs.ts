// Waiting work a chat user can see and act on: reminders and approvals. Rows mirror the workflows that own
// them; /cancel, /approve and /reject check who may act and then signal the owning workflow.
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { and, eq } from 'drizzle-orm';
import { appendAudit } from '../audit/chain.js';
import type { InboundMessage } from '../core/message.js';
import type { Metrics } from '../core/metrics.js';
import type { Database } from '../db/client.js';
import { jobs } from '../db/schema.js';
import { approveSignal, cancelSignal, rejectSignal } from '../runs/contract.js';
import type { ActivityDeps } from './deps.js';
import { conversationKey } from './record.js';
import { listMatches } from './verify.js';

type JobStatus = (typeof jobs.$inferSelect)['status'];

export interface Actor {
  channel: string;
  id: string;
  name?: string;
}

export interface NewJob {
  id: string;
  kind: 'reminder' | 'approval';
  workflowId: string;
  channel: string;
  /** The conversations-table key (`channel:externalId`). */
  conversationId: string;
  ownerId: string;
  summary: string;
  dueAtMs?: number;
}

/** Records a pending job once (a retried activity inserts nothing twice); shared with the schedule_reminder tool. */
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

export function createJobActivities({ db, temporal, metrics, config }: ActivityDeps) {
  return {
    async createJob(input: {
      id: string;
      kind: 'reminder' | 'approval';
      workflowId: string;
      message: InboundMessage;
      summary: string;
      dueAtMs?: number;
    }): Promise<void> {
      await insertJob(db, metrics, {
        id: input.id,
        kind: input.kind,
        workflowId: input.workflowId,
        channel: input.message.channel,
        conversationId: conversationKey(input.message),
        ownerId: input.message.sender.id,
        summary: input.summary,
        dueAtMs: input.dueAtMs,
      });
    },

    async setJobStatus({ jobId, status }: { jobId: string; status: Exclude<JobStatus, 'pending'> }): Promise<void> {
      const updated = await db
        .update(jobs)
        .set({ status, updatedAt: new Date() })
        .where(and(eq(jobs.id, jobId), eq(jobs.status, 'pending')))
        .returning({ kind: jobs.kind });
      if (updated[0]) metrics.pendingJobs.dec({ kind: updated[0].kind });
    },

    async describeJobs({ ownerId, channel }: { ownerId: string; channel: string }): Promise<string> {
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
    },

    async actOnJob(input: {
      jobId: string;
      action: 'cancel' | 'approve' | 'reject';
      actor: Actor;
      reason?: string;
    }): Promise<string> {
      const [job] = await db.select().from(jobs).where(eq(jobs.id, input.jobId));
      // Same answer for "no such job" and "not yours to see": ids are not an oracle for other people's work.
      if (!job || job.channel !== input.actor.channel) return `No job ${input.jobId} found. /jobs lists yours.`;
      if (job.status !== 'pending') return `Job ${job.id} is already ${job.status}.`;
      const by = { by: input.actor.name ?? input.actor.id, reason: input.reason };
      if (input.action === 'cancel') {
        if (job.ownerId !== input.actor.id) return `No job ${input.jobId} found. /jobs lists yours.`;
        if (!(await signal(temporal, job.workflowId, cancelSignal, by))) return `Job ${job.id} has already finished.`;
        return `Cancelled ${job.id}.`;
      }
      if (job.kind !== 'approval')
        return `Job ${job.id} is a ${job.kind}; only approval requests can be approved or rejected.`;
      // Decisions on approvals, granted or refused, go to the audit log with who made them.
      const audit = (outcome: 'success' | 'denied', detail: Record<string, unknown>) =>
        appendAudit(db, {
          actor: `chat:${input.actor.channel}:${input.actor.id}`,
          action: `job.${input.action}`,
          target: job.id,
          outcome,
          detail: { workflowId: job.workflowId, ...detail },
        });
      // Secondary verification: the person who asked cannot approve their own request.
      if (job.ownerId === input.actor.id) {
        await audit('denied', { refused: 'requester' });
        return `You requested ${job.id}; a second person has to ${input.action} it.`;
      }
      const approvers = config.pipeline.chatApprovers;
      if (approvers.length > 0 && !listMatches(approvers, input.actor.channel, input.actor.id)) {
        await audit('denied', { refused: 'not_an_approver' });
        return `Only approvers may ${input.action} ${job.id}; ask one of them.`;
      }
      const delivered = await signal(
        temporal,
        job.workflowId,
        input.action === 'approve' ? approveSignal : rejectSignal,
        by,
      );
      if (!delivered) return `Job ${job.id} has already finished.`;
      await audit('success', { reason: input.reason?.slice(0, 200) });
      return `${input.action === 'approve' ? 'Approved' : 'Rejected'} ${job.id}.`;
    },
  };
}

async function signal(
  temporal: Client,
  workflowId: string,
  definition: typeof cancelSignal,
  decision: { by: string; reason?: string },
): Promise<boolean> {
  try {
    await temporal.workflow.getHandle(workflowId).signal(definition, decision);
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}
