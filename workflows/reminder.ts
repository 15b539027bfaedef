// A reminder is a durable timer: it fires even if every process restarts in between, and /cancel ends it
// early through the cancel signal.
import { condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { cancelSignal, type Decision, type ReminderInput, type ReminderWorkflow } from '../runs/contract.js';

const delivery = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: 20 },
});

export const reminder: ReminderWorkflow = async function reminder(input: ReminderInput) {
  let cancelledBy: Decision | undefined;
  setHandler(cancelSignal, (by) => {
    cancelledBy ??= by;
  });
  const waitMs = Math.max(0, input.dueAtMs - Date.now());
  await condition(() => cancelledBy !== undefined, waitMs);
  if (cancelledBy) {
    await delivery.setJobStatus.executeWithOptions({ summary: `reminder ${input.jobId}: cancelled` }, [
      { jobId: input.jobId, status: 'cancelled' },
    ]);
    return 'cancelled';
  }
  await delivery.sendReply.executeWithOptions(
    { summary: `reminder ${input.jobId}: deliver to ${input.message.channel}` },
    [
      {
        key: `reminder:${input.jobId}`,
        workflowId: `reminder:${input.jobId}`,
        kind: 'reminder',
        target: input.message.replyTarget,
        reply: { text: `⏰ Reminder: ${input.text}`, format: 'text', mentionUserIds: [input.message.sender.id] },
      },
    ],
  );
  await delivery.setJobStatus.executeWithOptions({ summary: `reminder ${input.jobId}: done` }, [
    { jobId: input.jobId, status: 'done' },
  ]);
  return 'delivered';
};
