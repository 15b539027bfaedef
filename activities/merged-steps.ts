// The steps a run of generation 3 (workflows/run-generation.ts) takes as one local activity each, where older
// runs took several: record, verify and parse at the start (`admitRun`), the final reply and the run's outcome at
// the end (`replyAndFinish`). Each local activity is a round trip between the workflow and the worker's activity
// side, a marker in the history and a codec pass over its input and result; the work inside is the same
// functions as before, in the same order. The single-step activities stay registered for runs recorded before.
import type { InboundMessage, SentMessageRef } from '../core/message.js';
import type { IntentResult } from '../runs/contract.js';
import type { RunOutcome } from '../runs/run-record.js';
import type { VerifyOutcome } from '../runs/verify-sender.js';
import type { ActivityDeps } from './deps.js';
import { createRecordActivities, type RunContext } from './record.js';
import { createReplyActivities, type SendReplyInput } from './reply.js';
import { createVerifyActivities } from './verify.js';

export type Admission = Exclude<VerifyOutcome, { allowed: true }> | { allowed: true; context: RunContext };

export function createMergedStepActivities(deps: ActivityDeps) {
  const record = createRecordActivities(deps);
  const { verifySender } = createVerifyActivities(deps);
  const { sendReply } = createReplyActivities(deps);

  return {
    /** record → verify → parse: the run's row, the sender's verdict and, when allowed, the run's context. */
    async admitRun(input: { workflowId: string; message: InboundMessage; runStartedAtMs: number }): Promise<Admission> {
      const { workflowId, message } = input;
      await record.recordRun({ workflowId, message });
      // A retry does not count the message in the rate windows again (verifySender looks for its own event).
      const verdict = await verifySender({ message, runStartedAtMs: input.runStartedAtMs });
      if (!verdict.allowed) return verdict;
      return { allowed: true, context: await record.recordInbound({ workflowId, message }) };
    },

    /**
     * The final reply (sent at most once through the outbox), then the run's outcome. A failure to record the
     * outcome does not fail the reply: the answer is out, and retrying this activity would only find it sent.
     * `finished: false` asks the workflow to record the outcome on its own (finishRun, with its own retries).
     */
    async replyAndFinish(
      input: SendReplyInput & { outcome: RunOutcome; intent?: IntentResult },
    ): Promise<{ sent: SentMessageRef; finished: boolean }> {
      const { outcome, intent, ...reply } = input;
      const sent = await sendReply(reply);
      try {
        await record.finishRun({ workflowId: input.workflowId, outcome, intent });
        return { sent, finished: true };
      } catch (error) {
        deps.logger.warn({ workflowId: input.workflowId, err: error }, 'run outcome not recorded; the run retries it');
        return { sent, finished: false };
      }
    },
  };
}
