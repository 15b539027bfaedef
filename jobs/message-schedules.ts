// Recurring messages as Temporal Schedules: each tick starts a handleMessage run with the stored message, as if
// it had just arrived. Used by POST /v1/schedules (and meant for a /schedule command's activity). Temporal owns
// the timing; a schedule's memo carries this deployment's task queue, so deployments sharing a namespace never
// list or delete each other's schedules.
import { randomBytes } from 'node:crypto';
import {
  type Client,
  ScheduleAlreadyRunning,
  type ScheduleDescription,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type ScheduleSpec,
  type ScheduleSummary,
  ServiceError,
} from '@temporalio/client';
import { BadRequestError, NotFoundError } from '../core/errors.js';
import type { InboundMessage } from '../core/message.js';
import {
  type HandleMessageInput,
  scheduledMessage,
  scheduledMessageId,
  scheduledRunIdPrefix,
} from '../runs/contract.js';
import { messageRunAttributes, messageRunMetadata } from '../runs/run-labels.js';

/** Exactly one of cron (with an optional IANA time zone) or intervalSeconds. */
export interface ScheduleTiming {
  cron?: string;
  timezone?: string;
  intervalSeconds?: number;
}

export interface MessageSchedule extends ScheduleTiming {
  id: string;
  channel?: string;
  conversationId?: string;
  senderId?: string;
  text?: string;
  createdBy?: string;
  paused: boolean;
  /** Scheduled runs get workflow ids `schedule:<id>-<scheduled time>` (Temporal appends the time). */
  runIdPrefix: string;
  nextRunTimes: string[];
  recentRuns: Array<{ scheduledAt: string; workflowId: string }>;
}

/** What a schedule stores about itself beside Temporal's own spec (which shows a cron only as calendars). */
interface ScheduleMemo extends ScheduleTiming {
  taskQueue: string;
  channel: string;
  conversationId: string;
  senderId: string;
  text: string;
  createdBy: string;
}

const idPattern = /^[\w.:@-]{1,128}$/;

export async function createMessageSchedule(
  temporal: Client,
  taskQueue: string,
  input: {
    timing: ScheduleTiming;
    message: Omit<InboundMessage, 'messageId'>;
    createdBy: string;
    /** A caller that may retry (an activity) passes a stable id; an existing schedule with it is returned. */
    scheduleId?: string;
  },
): Promise<MessageSchedule> {
  const { timing, createdBy } = input;
  const scheduleId = input.scheduleId ?? `s-${randomBytes(6).toString('hex')}`;
  const message = scheduledMessage(input.message, scheduleId);
  const spec: ScheduleSpec =
    timing.cron !== undefined
      ? { cronExpressions: [timing.cron], timezone: timing.timezone }
      : { intervals: [{ every: (timing.intervalSeconds ?? 0) * 1000 }] };
  const memo: ScheduleMemo = {
    ...timing,
    taskQueue,
    channel: message.channel,
    conversationId: message.conversationId,
    senderId: message.sender.id,
    text: message.text,
    createdBy,
  };
  // Not stamped with a generation: a schedule starts runs with these arguments for as long as it lives, so its
  // runs decide their path by patch marker and no workflow path has to be kept for a schedule's sake.
  const args: [HandleMessageInput] = [{ message }];
  try {
    const handle = await temporal.schedule.create({
      scheduleId,
      spec,
      action: {
        type: 'startWorkflow',
        workflowType: 'handleMessage',
        // Temporal appends the tick's time: scheduledRunIdPrefix(scheduleId) + time.
        workflowId: scheduledMessageId(scheduleId),
        taskQueue,
        args,
        // Each tick's run is labelled like a run from a chat: found by channel, conversation and sender.
        typedSearchAttributes: messageRunAttributes(message),
        ...scheduledRunMetadata(message, scheduleId),
      },
      // A run still going when the next tick comes is not doubled; ticks missed during an outage are dropped
      // after a minute rather than replayed in a burst.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
      memo: { conduit: memo },
    });
    return present(await handle.describe());
  } catch (error) {
    if (error instanceof ScheduleAlreadyRunning && input.scheduleId) {
      return present(await temporal.schedule.getHandle(scheduleId).describe());
    }
    // The server validates cron expressions and time zones.
    if (isInvalidArgument(error)) throw new BadRequestError(`invalid schedule: ${(error as Error).message}`);
    throw error;
  }
}

export async function listMessageSchedules(temporal: Client, taskQueue: string): Promise<MessageSchedule[]> {
  // Listed raw, then described one by one: the SDK's list decodes every memo of the namespace in one go, and
  // a schedule of a deployment holding other payload keys would fail the whole listing.
  const ids: string[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await temporal.workflowService.listSchedules({
      namespace: temporal.options.namespace,
      maximumPageSize: 200,
      nextPageToken,
    });
    for (const entry of page.schedules ?? []) if (entry.scheduleId) ids.push(entry.scheduleId);
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  const schedules: MessageSchedule[] = [];
  for (const id of ids) {
    try {
      schedules.push(present(await describeOwn(temporal, taskQueue, id)));
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
  }
  return schedules.sort((a, b) => a.id.localeCompare(b.id));
}

export async function describeMessageSchedule(
  temporal: Client,
  taskQueue: string,
  id: string,
): Promise<MessageSchedule> {
  return present(await describeOwn(temporal, taskQueue, id));
}

export async function deleteMessageSchedule(temporal: Client, taskQueue: string, id: string): Promise<void> {
  await describeOwn(temporal, taskQueue, id);
  try {
    await temporal.schedule.getHandle(id).delete();
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) throw new NotFoundError(`no schedule ${id}`);
    throw error;
  }
}

/** Another deployment's schedule is reported as missing, like one that does not exist. */
async function describeOwn(temporal: Client, taskQueue: string, id: string): Promise<ScheduleDescription> {
  if (!idPattern.test(id)) throw new NotFoundError(`no schedule ${id}`);
  try {
    const description = await temporal.schedule.getHandle(id).describe();
    if (memoOf(description)?.taskQueue !== taskQueue) throw new NotFoundError(`no schedule ${id}`);
    return description;
  } catch (error) {
    if (error instanceof ScheduleNotFoundError || isForeign(error)) throw new NotFoundError(`no schedule ${id}`);
    throw error;
  }
}

/** A memo this instance cannot decrypt belongs to a deployment holding other payload keys: not ours. */
const isForeign = (error: unknown) => error instanceof Error && error.name === 'PayloadDecryptionError';

function memoOf(schedule: Pick<ScheduleSummary, 'memo'>): ScheduleMemo | undefined {
  const memo = schedule.memo?.conduit;
  return memo && typeof memo === 'object' ? (memo as ScheduleMemo) : undefined;
}

function present(schedule: ScheduleSummary | ScheduleDescription): MessageSchedule {
  const memo = memoOf(schedule);
  return {
    id: schedule.scheduleId,
    cron: memo?.cron,
    timezone: memo?.timezone,
    intervalSeconds: memo?.intervalSeconds,
    channel: memo?.channel,
    conversationId: memo?.conversationId,
    senderId: memo?.senderId,
    text: memo?.text,
    createdBy: memo?.createdBy,
    paused: schedule.state.paused,
    runIdPrefix: scheduledRunIdPrefix(schedule.scheduleId),
    nextRunTimes: schedule.info.nextActionTimes.slice(0, 3).map((time) => time.toISOString()),
    recentRuns: schedule.info.recentActions.slice(-5).map((action) => ({
      scheduledAt: action.scheduledAt.toISOString(),
      workflowId: action.action.workflow.workflowId,
    })),
  };
}

function isInvalidArgument(error: unknown): boolean {
  // The client reports a spec the server refuses (a bad cron expression or time zone) as a TypeError, and
  // other refused arguments as a ServiceError caused by gRPC INVALID_ARGUMENT (status 3).
  if (error instanceof TypeError) return true;
  return error instanceof ServiceError && (error.cause as { code?: unknown } | undefined)?.code === 3;
}

/** A scheduled run's summary says which schedule started it. */
function scheduledRunMetadata(message: InboundMessage, scheduleId: string) {
  const { staticSummary, staticDetails } = messageRunMetadata(message);
  return { staticSummary: `schedule ${scheduleId} · ${staticSummary}`, staticDetails };
}
