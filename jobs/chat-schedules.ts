// Recurring messages from chat (/schedule, /schedules, /unschedule): Temporal Schedules (message-schedules.ts)
// that start a run with the stored text in the same conversation, and the chat answers about them. Only the
// person who created a schedule sees or deletes it.
import type { Client } from '@temporalio/client';
import { NotFoundError } from '../core/errors.js';
import type { InboundMessage } from '../core/message.js';
import {
  createMessageSchedule,
  deleteMessageSchedule,
  describeMessageSchedule,
  listMessageSchedules,
} from './message-schedules.js';

export interface ChatScheduleDeps {
  temporal: Client;
  taskQueue: string;
  /** SCHEDULE_TIMEZONE: the zone cron schedules from chat run in. */
  timezone: string;
}

const owner = (message: InboundMessage) => `chat:${message.channel}:${message.sender.id}`;

/** Creates the schedule (or finds the one a retried call made under the same id) and says when it runs. */
export async function createChatSchedule(
  { temporal, taskQueue, timezone }: ChatScheduleDeps,
  input: { scheduleId: string; message: InboundMessage; text: string; everyMs?: number; cron?: string },
): Promise<string> {
  const { messageId: _ignored, ...template } = input.message;
  const schedule = await createMessageSchedule(temporal, taskQueue, {
    scheduleId: input.scheduleId,
    timing:
      input.cron !== undefined
        ? { cron: input.cron, timezone }
        : { intervalSeconds: Math.round((input.everyMs ?? 0) / 1000) },
    message: { ...template, text: input.text },
    createdBy: owner(input.message),
  });
  const next = schedule.nextRunTimes[0];
  return `Scheduled ${schedule.id}: "${input.text}" ${input.cron ? `at cron ${input.cron} (${timezone})` : `every ${Math.round((input.everyMs ?? 0) / 60_000)} min`}${next ? `, next at ${next}` : ''}. /unschedule ${schedule.id} to stop it.`;
}

/** The /schedules answer: this sender's schedules in this conversation. */
export async function describeChatSchedules(
  { temporal, taskQueue }: ChatScheduleDeps,
  message: InboundMessage,
): Promise<string> {
  const mine = (await listMessageSchedules(temporal, taskQueue)).filter(
    (schedule) => schedule.createdBy === owner(message) && schedule.conversationId === message.conversationId,
  );
  if (mine.length === 0) return 'You have no schedules in this conversation.';
  const lines = mine.map((schedule) => {
    const when = schedule.cron
      ? `cron ${schedule.cron}`
      : `every ${Math.round((schedule.intervalSeconds ?? 0) / 60)} min`;
    return `- ${schedule.id}: "${schedule.text}" ${when}${schedule.nextRunTimes[0] ? `, next ${schedule.nextRunTimes[0]}` : ''}`;
  });
  return `Your schedules:\n${lines.join('\n')}`;
}

/** /unschedule: deletes a schedule of this sender; anyone else's is reported as not found. */
export async function deleteChatSchedule(
  { temporal, taskQueue }: ChatScheduleDeps,
  { scheduleId, message }: { scheduleId: string; message: InboundMessage },
): Promise<string> {
  const notFound = `No schedule ${scheduleId} found. /schedules lists yours.`;
  try {
    const schedule = await describeMessageSchedule(temporal, taskQueue, scheduleId);
    if (schedule.createdBy !== owner(message)) return notFound;
    await deleteMessageSchedule(temporal, taskQueue, scheduleId);
    return `Deleted schedule ${scheduleId}.`;
  } catch (error) {
    if (error instanceof NotFoundError) return notFound;
    throw error;
  }
}
