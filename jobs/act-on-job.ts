// /cancel, /approve and /reject: checks who may act on a job, then signals the workflow that owns it.
// Owners cancel their own work; approvals need a second person, and an approver when CHAT_APPROVERS is set.
// On Conduit's own channels (api, ws, grpc) the person is the authenticated principal, not the sender id the
// body named: a second person is a second credential, which must hold runs:decide, and CHAT_APPROVERS names
// principals there (`api:key_…`). On the chat platforms it is the user id the platform's signature vouches for.
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { eq } from 'drizzle-orm';
import { appendAudit } from '../audit/chain.js';
import type { AuthenticatedSender } from '../core/message.js';
import type { Database } from '../db/client.js';
import { jobs } from '../db/schema.js';
import {
  approveSignal,
  cancelSignal,
  type Decision,
  type RunStatus,
  rejectSignal,
  statusQuery,
} from '../runs/contract.js';
import { listMatches } from '../security/sender-lists.js';

export interface Actor {
  channel: string;
  id: string;
  name?: string;
  /** Set on Conduit's own channels: the credential behind the message (core/message.ts). */
  authenticated?: AuthenticatedSender;
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
  const principal = input.actor.authenticated?.principal;
  const by: Decision = { by: input.actor.name ?? input.actor.id, reason: input.reason, principal };
  if (input.action === 'cancel') {
    if (job.ownerId !== input.actor.id) return `No job ${input.jobId} found. /jobs lists yours.`;
    if (!(await signal(temporal, job.workflowId, cancelSignal, by))) return `Job ${job.id} has already finished.`;
    return `Cancelled ${job.id}.`;
  }
  if (job.kind !== 'approval')
    return `Job ${job.id} is a ${job.kind}; only approval requests can be approved or rejected.`;
  // Decisions on approvals, granted or refused, go to the audit log with who made them: the authenticated
  // principal where there is one, with the sender id it named.
  const audit = (outcome: 'success' | 'denied', detail: Record<string, unknown>) =>
    appendAudit(db, {
      actor: principal ? `api:${principal}` : `chat:${input.actor.channel}:${input.actor.id}`,
      action: `job.${input.action}`,
      target: job.id,
      outcome,
      detail: {
        workflowId: job.workflowId,
        ...(principal ? { channel: input.actor.channel, sender: input.actor.id } : {}),
        ...detail,
      },
    });
  // Secondary verification: the person who asked cannot approve their own request, whichever sender id they
  // name now: on Conduit's own channels, the credential that sent the request cannot decide on it.
  if (
    job.ownerId === input.actor.id ||
    (principal !== undefined && (await requesterOf(temporal, job.workflowId)) === principal)
  ) {
    await audit('denied', { refused: 'requester' });
    return `You requested ${job.id}; a second person has to ${input.action} it.`;
  }
  // Who counts as the approver: the principal on Conduit's own channels (a sender id that equals an approver's
  // is nobody's proof), the platform-verified user id on the chat platforms.
  const approverId = principal ?? input.actor.id;
  const notAnApprover =
    (input.actor.authenticated !== undefined && !input.actor.authenticated.mayDecide) ||
    (approvers.length > 0 && !listMatches(approvers, input.actor.channel, approverId));
  if (notAnApprover) {
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

/**
 * The principal that sent the run waiting for approval, as the run reports it; undefined for a run from a chat
 * platform or one no longer waiting (its signal then finds nothing to decide).
 */
async function requesterOf(temporal: Client, workflowId: string): Promise<string | undefined> {
  try {
    const status = await temporal.workflow.getHandle(workflowId).query<RunStatus>(statusQuery);
    return status.pendingApproval?.requestedBy;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
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
