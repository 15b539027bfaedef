// Approvals inside a run: the cancel, approve and reject signals a run listens for, and the wait for a second
// person before a sensitive tool runs (a job row, a notice in the chat, a durable wait with a timeout).
import { condition, setHandler, uuid4 } from '@temporalio/workflow';
import type { InboundMessage } from '../core/message.js';
import { approveSignal, cancelSignal, type Decision, type RunStatus, rejectSignal } from '../runs/contract.js';
import { bookkeeping, delivery } from './activity-options.js';

/** What the signals said so far; mutated by the signal handlers. */
export interface RunSignals {
  cancelledBy?: Decision;
  decision?: { approved: boolean; by: Decision };
}

/**
 * Installs the signal handlers; the first cancel and the first decision per approval win. A decision signed by
 * the principal that sent the run's message (`requester`) is ignored: the doors refuse it first, and this holds
 * even for a signal that reached the run another way.
 */
export function listenForDecisions(requester?: string): RunSignals {
  const signals: RunSignals = {};
  const isRequester = (by: Decision) => requester !== undefined && by.principal === requester;
  setHandler(cancelSignal, (by) => {
    signals.cancelledBy ??= by;
  });
  setHandler(approveSignal, (by) => {
    if (!isRequester(by)) signals.decision ??= { approved: true, by };
  });
  setHandler(rejectSignal, (by) => {
    if (!isRequester(by)) signals.decision ??= { approved: false, by };
  });
  return signals;
}

export type ApprovalOutcome = 'approved' | 'rejected' | 'expired' | 'cancelled';

/** Asks for a second person's approval of one tool call and waits for it, at most `timeoutMs`. */
export async function awaitApproval(input: {
  workflowId: string;
  message: InboundMessage;
  tool: string;
  args: string;
  timeoutMs: number;
  signals: RunSignals;
  status: RunStatus;
  /** Called as the run starts and stops waiting, so its search attributes say so (run-labels.ts). */
  onStep?: () => void;
}): Promise<ApprovalOutcome> {
  const { workflowId, message, tool, signals, status } = input;
  // Read through functions: TypeScript would otherwise keep a narrowing across awaits that signals change.
  const decision = () => signals.decision;
  const cancelledBy = () => signals.cancelledBy;
  const jobId = `a-${uuid4().slice(0, 8)}`;
  status.step = 'awaiting_approval';
  status.pendingApproval = { jobId, tool, requestedBy: message.authenticated?.principal };
  signals.decision = undefined;
  input.onStep?.();
  await bookkeeping.createJob.executeWithOptions({ summary: `approval ${jobId} for ${tool}: record the job` }, [
    { id: jobId, kind: 'approval', workflowId, message, summary: `run ${tool}(${input.args.slice(0, 200)})` },
  ]);
  await delivery.sendReply.executeWithOptions({ summary: `approval ${jobId}: ask in ${message.channel}` }, [
    {
      key: `${workflowId}:approval:${jobId}`,
      workflowId,
      kind: 'progress',
      target: message.replyTarget,
      reply: {
        text: `Running **${tool}** needs approval by a second person: /approve ${jobId} or /reject ${jobId}.`,
        format: 'markdown',
      },
    },
  ]);
  const decided = await condition(() => decision() !== undefined || cancelledBy() !== undefined, input.timeoutMs);
  const outcome: ApprovalOutcome = !decided
    ? 'expired'
    : cancelledBy()
      ? 'cancelled'
      : decision()?.approved
        ? 'approved'
        : 'rejected';
  await bookkeeping.setJobStatus.executeWithOptions({ summary: `approval ${jobId}: ${outcome}` }, [
    { jobId, status: outcome },
  ]);
  status.pendingApproval = undefined;
  status.step = 'execute';
  input.onStep?.();
  return outcome;
}
