// schedule_reminder: the model's /remind. It records the reminder job and starts the same durable `reminder`
// workflow the command starts, answering in the conversation the run came from. The job id derives from the
// run and the call id, so a retried tool call finds its reminder instead of scheduling a second one.
import { createHash, randomUUID } from 'node:crypto';
import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { BadRequestError } from '../../core/errors.js';
import type { ConversationType, InboundMessage } from '../../core/message.js';
import type { Metrics } from '../../core/metrics.js';
import type { Database } from '../../db/client.js';
import { conversations } from '../../db/schema.js';
import { MAX_REMINDER_MS, parseDuration } from '../../jobs/durations.js';
import { insertJob } from '../../jobs/pending-jobs.js';
import { type ReminderInput, type ReminderWorkflow, reminderWorkflowId } from '../../runs/contract.js';
import { messageRunAttributes } from '../../runs/run-labels.js';
import { reminderRunSummary } from '../../runs/run-summary.js';
import type { ToolContext, ToolDefinition } from '../types.js';

export interface ScheduleReminderOptions {
  db: Database;
  metrics: Metrics;
  temporal: Client;
  taskQueue: string;
  now?: () => Date;
}

/** A due time this far in the past is a mistake (a wrong date), not a reminder for "now". */
const PAST_TOLERANCE_MS = 60_000;

const inputSchema = z
  .object({
    text: z.string().trim().min(1).max(1_000),
    delay: z.string().optional(),
    at: z.iso
      .datetime({ offset: true, error: 'expected an ISO-8601 time with an offset, e.g. 2030-01-31T09:00:00+08:00' })
      .optional(),
  })
  .strict()
  .refine((input) => (input.delay === undefined) !== (input.at === undefined), {
    message: 'give exactly one of delay or at',
  });

export function createScheduleReminderTool(
  options: ScheduleReminderOptions,
): ToolDefinition<z.infer<typeof inputSchema>> {
  const now = options.now ?? (() => new Date());
  return {
    name: 'schedule_reminder',
    description:
      'Schedules a reminder that is posted to this conversation later, mentioning the user, like the /remind command. Give either a delay ("10m", "1h30m", "2d") or an absolute time. The user can list it with /jobs and cancel it with /cancel <id>.',
    parameters: {
      type: 'object',
      properties: {
        text: { type: 'string', description: 'What to remind the user of' },
        delay: { type: 'string', description: 'How long from now, e.g. "90s", "10m", "1h30m", "2d"' },
        at: { type: 'string', description: 'When, as ISO-8601 with an offset, e.g. "2030-01-31T09:00:00+08:00"' },
      },
      required: ['text'],
      additionalProperties: false,
    },
    inputSchema,
    sensitive: false,
    timeoutMs: 15_000,
    async run(input, ctx) {
      const { channel, conversationId, userId, replyTarget } = ctx;
      if (!channel || !conversationId || !userId || !replyTarget) {
        throw new BadRequestError('schedule_reminder works only inside a run that can be replied to');
      }
      const current = now().getTime();
      const dueAtMs = dueTime(input, current);
      const jobId = reminderJobId(ctx);
      const workflowId = reminderWorkflowId(jobId);
      const [conversation] = await options.db
        .select({ externalId: conversations.externalId, type: conversations.type })
        .from(conversations)
        .where(eq(conversations.id, conversationId));
      const message: InboundMessage = {
        channel,
        messageId: `${ctx.runId ?? jobId}:${ctx.callId ?? 'tool'}`,
        conversationId: conversation?.externalId ?? conversationId.slice(channel.length + 1),
        conversationType: (conversation?.type as ConversationType | undefined) ?? 'direct',
        sender: { id: userId },
        text: input.text,
        mentions: [],
        attachments: [],
        sentAt: new Date(current).toISOString(),
        replyTarget,
      };
      await insertJob(options.db, options.metrics, {
        id: jobId,
        kind: 'reminder',
        workflowId,
        channel,
        conversationId,
        ownerId: userId,
        summary: input.text,
        dueAtMs,
      });
      const args: ReminderInput = { jobId, message, text: input.text, dueAtMs };
      try {
        await options.temporal.workflow.start<ReminderWorkflow>('reminder', {
          workflowId,
          taskQueue: options.taskQueue,
          args: [args],
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          // Found with the conversation's other runs, and read as one line in the Temporal UI.
          typedSearchAttributes: messageRunAttributes(message),
          staticSummary: reminderRunSummary(jobId, message, input.text, dueAtMs),
        });
      } catch (error) {
        // A retried call: the first attempt already started it.
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      }
      return {
        jobId,
        dueAt: new Date(dueAtMs).toISOString(),
        text: input.text,
        cancel: `/cancel ${jobId}`,
      };
    },
  };
}

function dueTime(input: { delay?: string; at?: string }, nowMs: number): number {
  if (input.delay !== undefined) {
    const delayMs = parseDuration(input.delay);
    if (delayMs === undefined) {
      throw new BadRequestError(`delay "${input.delay}" is not a duration like 90s, 10m, 1h30m or 2d`);
    }
    if (delayMs > MAX_REMINDER_MS) throw new BadRequestError('a reminder can be at most one year ahead');
    return nowMs + delayMs;
  }
  const at = Date.parse(input.at ?? '');
  if (at < nowMs - PAST_TOLERANCE_MS) throw new BadRequestError(`${input.at} is in the past`);
  if (at - nowMs > MAX_REMINDER_MS) throw new BadRequestError('a reminder can be at most one year ahead');
  return Math.max(at, nowMs);
}

/** `r-` and eight hex digits, like /remind's ids; stable per run and call. */
export function reminderJobId(ctx: Pick<ToolContext, 'runId' | 'callId'>): string {
  const seed = ctx.runId && ctx.callId ? `${ctx.runId}\n${ctx.callId}` : randomUUID();
  return `r-${createHash('sha256').update(seed).digest('hex').slice(0, 8)}`;
}
