// Activities over the jobs domain (jobs/): record a reminder or approval, close it, list them, and let a chat
// user cancel, approve or reject one. The domain decides; these adapt the workflow's inputs to it.
import { conversationKey } from '../conversations/transcript.js';
import type { InboundMessage } from '../core/message.js';
import { type Actor, actOnJob } from '../jobs/act-on-job.js';
import { describePendingJobs, finishJob, insertJob, type JobKind, type JobStatus } from '../jobs/pending-jobs.js';
import type { ActivityDeps } from './deps.js';

export function createJobActivities({ db, temporal, metrics, config }: ActivityDeps) {
  return {
    async createJob(input: {
      id: string;
      kind: JobKind;
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
      await finishJob(db, metrics, jobId, status);
    },

    async describeJobs(input: { ownerId: string; channel: string }): Promise<string> {
      return describePendingJobs(db, input);
    },

    async actOnJob(input: {
      jobId: string;
      action: 'cancel' | 'approve' | 'reject';
      actor: Actor;
      reason?: string;
    }): Promise<string> {
      return actOnJob({ db, temporal, approvers: config.pipeline.chatApprovers }, input);
    },
  };
}
