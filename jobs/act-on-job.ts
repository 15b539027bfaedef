// /cancel, /approve and /reject: checks who may act on a job, then signals the workflow that owns it.
// Owners cancel their own work; approvals need a second person, and an approver when CHAT_APPROVERS is set.
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { eq } from 'drizzle-orm';
import { appendAudit } from '../audit/chain.js';
import type { Database } from '../db/client.js';
import { jobs } from '../db/schema.js';
import { approveSignal, cancelSignal, type Decision, rejectSignal } from '../runs/contract.js';
import { listMatches } from '../security/sender-lists.js';

export interface Actor {
  channel: string;
  id: string;
  name?: string;
}

export interface JobAction {
  jobId: string;
  action: 'cancel' | 'approve' | 'reject';
  actor: Actor;
  reason?: string;
}

export interface ActOnJobDeps {
  db: Database;
  temporal: Client;
  /** CHAT_APPROVERS: when not empty, only these may approve or reject. */
  approvers: string[];
}

/** Returns the chat answer: what was done, or why not. */
export async function actOnJob({ db, temporal, approvers }: ActOnJobDeps, input: JobAction): Promise<string> {
  const [job] = await db.select().from(jobs).where(eq(jobs.id, input.jobId));
  // Same answer for "no such job" and "not yours to see": ids are not an oracle for other people's work.
  if (!job || job.channel !== input.actor.channel) return `No job ${input.jobId} found. /jobs lists yours.`;
  if (job.status !== 'pending') return `Job ${job.id} is already ${job.status}.`;
  const by: Decision = { by: input.actor.name ?? input.actor.id, reason: input.reason };
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
}

/** False when the workflow has already finished (or never existed). */
async function signal(
  temporal: Client,
  workflowId: string,
  definition: typeof cancelSignal,
  decision: Decision,
): Promise<boolean> {
  try {
    await temporal.workflow.getHandle(workflowId).signal(definition, decision);
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}
