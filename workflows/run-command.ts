// Runs a chat command parsed by commands.ts and returns the answer. Commands that only read or signal go to
// bookkeeping activities; /remind records its job and starts a reminder workflow that outlives this run.
import type { SearchAttributePair } from '@temporalio/common';
import { log, ParentClosePolicy, startChild, uuid4, workflowInfo } from '@temporalio/workflow';
import type { InboundMessage } from '../core/message.js';
import { formatDuration } from '../jobs/durations.js';
import { reminderWorkflowId } from '../runs/contract.js';
import { reminderRunSummary } from '../runs/run-summary.js';
import { CHANNEL_ATTRIBUTE, CONVERSATION_ATTRIBUTE, SENDER_ATTRIBUTE } from '../runs/search-attributes.js';
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
      return bookkeeping.describeJobs.executeWithOptions({ summary: '/jobs: list pending jobs' }, [
        { ownerId: message.sender.id, channel: message.channel },
      ]);
    case 'schedule': {
      // Derived from the run, so a retried activity finds the schedule it already made.
      const scheduleId = `s-${uuid4().slice(0, 8)}`;
      return bookkeeping.createChatSchedule.executeWithOptions({ summary: `/schedule: create ${scheduleId}` }, [
        { scheduleId, message, text: command.text, everyMs: command.every, cron: command.cron },
      ]);
    }
    case 'schedules':
      return bookkeeping.describeChatSchedules.executeWithOptions({ summary: '/schedules: list schedules' }, [
        { message },
      ]);
    case 'unschedule':
      return bookkeeping.deleteChatSchedule.executeWithOptions(
        { summary: `/unschedule: delete ${command.scheduleId}` },
        [{ scheduleId: command.scheduleId, message }],
      );
    case 'cancel':
    case 'approve':
    case 'reject':
      return bookkeeping.actOnJob.executeWithOptions({ summary: `/${command.name} ${command.jobId}` }, [
        {
          jobId: command.jobId,
          action: command.name,
          actor: {
            channel: message.channel,
            id: message.sender.id,
            name: message.sender.name,
            authenticated: message.authenticated,
          },
          reason: command.name === 'reject' ? command.reason : undefined,
        },
      ]);
    case 'remind': {
      const jobId = `r-${uuid4().slice(0, 8)}`;
      const dueAtMs = Date.now() + command.delayMs;
      await bookkeeping.createJob.executeWithOptions({ summary: `/remind: record job ${jobId}` }, [
        { id: jobId, kind: 'reminder', workflowId: reminderWorkflowId(jobId), message, summary: command.text, dueAtMs },
      ]);
      // The reminder outlives this run: abandoned, not cancelled, when this run completes.
      await startChild(reminder, {
        workflowId: reminderWorkflowId(jobId),
        args: [{ jobId, message, text: command.text, dueAtMs }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        // Found with the run that made it (same channel, conversation and sender), read as one line.
        typedSearchAttributes: inheritedAttributes(),
        staticSummary: reminderRunSummary(jobId, message, command.text, dueAtMs),
      });
      log.info('reminder scheduled', { jobId, parent: workflowId });
      return `OK, I will remind you in ${formatDuration(command.delayMs)} (at ${new Date(dueAtMs).toISOString()}). Job id: ${jobId}; /cancel ${jobId} to cancel.`;
    }
  }
}

/** The parent run's channel, conversation and sender attributes (set when it was started), for a child run. */
function inheritedAttributes(): SearchAttributePair[] {
  const { typedSearchAttributes } = workflowInfo();
  const pairs: SearchAttributePair[] = [];
  for (const key of [CHANNEL_ATTRIBUTE, CONVERSATION_ATTRIBUTE, SENDER_ATTRIBUTE]) {
    const value = typedSearchAttributes.get(key);
    if (value !== undefined) pairs.push({ key, value });
  }
  return pairs;
}
