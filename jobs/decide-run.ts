// A decision on a waiting run by an authenticated principal (an API key id or `jwt:<subject>`): the one function
// behind POST /v1/runs/:id/{approve,reject,cancel} and the console's approvals inbox, so both doors refuse the
// requester alike, send the same signal and write the same audit row. Chat's /approve has its own rules
// (act-on-job.ts: sender ids, CHAT_APPROVERS); the caller has checked the principal's permission.
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { eq } from 'drizzle-orm';
import { appendAudit } from '../audit/chain.js';
import type { Database } from '../db/client.js';
import { jobs } from '../db/schema.js';
import { approveSignal, cancelSignal, rejectSignal, statusQuery } from '../runs/contract.js';

export type RunAction = 'approve' | 'reject' | 'cancel';

export interface RunDecision {
  workflowId: string;
  action: RunAction;
  /** The deciding principal; the signal and the audit row name it as `api:<principal>`. */
  principal: string;
  reason?: string;
  /** Who else counts as the requester besides the run's own report (the approval job's owner). */
  requesters?: string[];
  /** Added to the audit row's detail (the console names the job and itself). */
  auditDetail?: Record<string, unknown>;
}

/** `decided`: the signal was delivered; `requester`: refused, a second person must decide; `finished`: no open run. */
export type RunDecisionOutcome = 'decided' | 'requester' | 'finished';

export interface DecideRunDeps {
  db: Database;
  temporal: Client;
}

const SIGNALS = { approve: approveSignal, reject: rejectSignal, cancel: cancelSignal } as const;

export async function decideRun({ db, temporal }: DecideRunDeps, input: RunDecision): Promise<RunDecisionOutcome> {
  const { workflowId, action, principal, reason } = input;
  const audit = (outcome: 'success' | 'denied', detail: Record<string, unknown>) =>
    appendAudit(db, {
      actor: `api:${principal}`,
      action: `run.${action}`,
      target: workflowId,
      outcome,
      detail: { ...input.auditDetail, ...detail },
    });
  const handle = temporal.workflow.getHandle(workflowId);
  try {
    // Secondary verification: the credential that sent the run's message cannot decide on its approval (the run
    // ignores such a decision too, so a run that cannot answer the query now stays safe; here the caller is told).
    if (action !== 'cancel') {
      const status = await handle.query(statusQuery).catch((error: unknown) => {
        if (error instanceof WorkflowNotFoundError) throw error;
        return undefined;
      });
      if (input.requesters?.includes(principal) || status?.pendingApproval?.requestedBy === principal) {
        await audit('denied', { refused: 'requester' });
        return 'requester';
      }
    }
    await handle.signal(SIGNALS[action], { by: `api:${principal}`, reason, principal });
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return 'finished';
    throw error;
  }
  await audit('success', { reason: reason?.slice(0, 200) });
  return 'decided';
}

export type ApprovalJobOutcome = RunDecisionOutcome | 'no_such_approval' | 'not_pending';

/**
 * Approves or rejects the run behind an approval job, by the job's id (the console's inbox lists jobs). The job's
 * owner counts as the requester: on the api channel it is the sending principal.
 */
export async function decideApprovalJob(
  deps: DecideRunDeps,
  input: { jobId: string; decision: 'approve' | 'reject'; principal: string; reason?: string; via: string },
): Promise<{ outcome: ApprovalJobOutcome; status?: string }> {
  const [job] = await deps.db.select().from(jobs).where(eq(jobs.id, input.jobId));
  if (job?.kind !== 'approval') return { outcome: 'no_such_approval' };
  if (job.status !== 'pending') return { outcome: 'not_pending', status: job.status };
  const outcome = await decideRun(deps, {
    workflowId: job.workflowId,
    action: input.decision,
    principal: input.principal,
    reason: input.reason,
    requesters: [job.ownerId],
    auditDetail: { jobId: input.jobId, via: input.via },
  });
  return { outcome };
}
