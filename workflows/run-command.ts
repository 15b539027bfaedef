// Runs a chat command parsed by commands.ts and returns the answer. Commands that only read or signal go to
// bookkeeping activities; /remind records its job and starts a reminder workflow that outlives this run.
import { log, ParentClosePolicy, startChild, uuid4 } from '@temporalio/workflow';
import type { InboundMessage } from '../core/message.js';
import { formatDuration } from '../jobs/durations.js';
import { reminderWorkflowId } from '../runs/contract.js';
import { bookkeeping } from './activity-options.js';
import { type Command, HELP_TEXT } from './commands.js';
import { reminder } from './reminder.js';

export async function runCommand(command: Command, message: InboundMessage, workflowId: string): Promise<string> {
  switch (command.name) {
    case 'help':
      return HELP_TEXT;
    case 'echo':
      return command.text;
    case 'time':
      // Workflow time is the time this step was first decided: deterministic on replay.
      return `It is ${new Date().toISOString()} (UTC).`;
    case 'invalid':
      return command.problem;
    case 'jobs':
      return bookkeeping.describeJobs({ ownerId: message.sender.id, channel: message.channel });
    case 'schedule':
      return bookkeeping.createChatSchedule({
        // Derived from the run, so a retried activity finds the schedule it already made.
        scheduleId: `s-${uuid4().slice(0, 8)}`,
        message,
        text: command.text,
        everyMs: command.every,
        cron: command.cron,
      });
    case 'schedules':
      return bookkeeping.describeChatSchedules({ message });
    case 'unschedule':
      return bookkeeping.deleteChatSchedule({ scheduleId: command.scheduleId, message });
    case 'cancel':
    case 'approve':
    case 'reject':
      return bookkeeping.actOnJob({
        jobId: command.jobId,
        action: command.name,
        actor: { channel: message.channel, id: message.sender.id, name: message.sender.name },
        reason: command.name === 'reject' ? command.reason : undefined,
      });
    case 'remind': {
      const jobId = `r-${uuid4().slice(0, 8)}`;
      const dueAtMs = Date.now() + command.delayMs;
      await bookkeeping.createJob({
        id: jobId,
        kind: 'reminder',
        workflowId: reminderWorkflowId(jobId),
        message,
        summary: command.text,
        dueAtMs,
      });
      // The reminder outlives this run: abandoned, not cancelled, when this run completes.
      await startChild(reminder, {
        workflowId: reminderWorkflowId(jobId),
        args: [{ jobId, message, text: command.text, dueAtMs }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
      log.info('reminder scheduled', { jobId, parent: workflowId });
      return `OK, I will remind you in ${formatDuration(command.delayMs)} (at ${new Date(dueAtMs).toISOString()}). Job id: ${jobId}; /cancel ${jobId} to cancel.`;
    }
  }
}
