// Names and shapes shared by workflows, activities and the API: the signals that approve, reject or cancel
// waiting work, the status query, and the plain-data types a run carries. Workflow-safe (definitions and the
// workflow-safe key encoding of core/key-encoding.ts).
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { encodeKeyPart } from '../core/key-encoding.js';
import type { InboundMessage } from '../core/message.js';

export type PipelineStep = 'verify' | 'parse' | 'intent' | 'plan' | 'execute' | 'awaiting_approval' | 'reply' | 'done';

export interface IntentResult {
  name: string;
  confidence: number;
  source: 'command' | 'llm' | 'default';
}

export interface ToolCallRecord {
  name: string;
  arguments: string;
  ok: boolean;
  result: string;
}

export interface RunStatus {
  step: PipelineStep;
  intent?: IntentResult;
  /** What the run intends to do, one line per step, as decided by the command or the model. */
  plan: string[];
  toolCalls: ToolCallRecord[];
  /** `requestedBy`: the principal that sent the run's message, on Conduit's own channels (a second one decides). */
  pendingApproval?: { jobId: string; tool: string; requestedBy?: string };
  reply?: string;
  outcome?: 'replied' | 'refused' | 'cancelled' | 'failed';
  /** Why the reply could not be delivered, when it could not. */
  deliveryError?: string;
}

/**
 * The message workflow's generation a run's starter writes into its input (workflows/run-generation.ts): a run that
 * carries it takes the newest path without a patch marker. Runs started before it, and ticks of schedules, carry none.
 */
export const MESSAGE_RUN_GENERATION = 4;

export interface HandleMessageInput {
  message: InboundMessage;
  /** MESSAGE_RUN_GENERATION when the starter wrote it; the workflow code that runs it decides what it means. */
  generation?: number;
}

/** The message run as its starter sees it (start-message-run.ts); workflows/handle-message.ts implements it. */
export type HandleMessageWorkflow = (input: HandleMessageInput) => Promise<RunStatus>;

export interface ReminderInput {
  jobId: string;
  message: InboundMessage;
  text: string;
  /** Epoch milliseconds at which the reminder is due. */
  dueAtMs: number;
}

/**
 * The reminder workflow as its starters see it (tools/builtin/schedule-reminder.ts, the /remind command):
 * workflows/reminder.ts implements it, and starters start it by name with this type, so no domain module has
 * to import workflow code to start one.
 */
export type ReminderWorkflow = (input: ReminderInput) => Promise<'delivered' | 'cancelled'>;

export interface Decision {
  by: string;
  reason?: string;
  /** The authenticated principal that decided (API key id or `jwt:<subject>`), when the API authenticated one. */
  principal?: string;
}

export const approveSignal = defineSignal<[Decision]>('approve');
export const rejectSignal = defineSignal<[Decision]>('reject');
export const cancelSignal = defineSignal<[Decision]>('cancel');
export const statusQuery = defineQuery<RunStatus>('status');

/**
 * Workflow ids are derived from the channel and the platform's message id: a redelivery finds the same run.
 * Injective (core/key-encoding.ts): the channel is encoded, so it holds no `:` and the first `:` after it ends
 * it; the message id, the last part, is kept as it is (validated at the door), so ids stay what they were.
 */
export function messageWorkflowId(channel: string, messageId: string): string {
  return `message:${encodeKeyPart(channel)}:${messageId}`;
}

/**
 * A chat schedule's runs: every tick starts with the same message id, and Temporal tells the ticks apart by
 * appending the scheduled time to the workflow id this returns (`schedule:<id>-<time>`).
 */
export const scheduledMessageId = (scheduleId: string) => `schedule:${scheduleId}`;
export const scheduledRunIdPrefix = (scheduleId: string) => `${scheduledMessageId(scheduleId)}-`;

/** The message each tick of a schedule runs: the stored template under the schedule's message id. */
export function scheduledMessage(template: Omit<InboundMessage, 'messageId'>, scheduleId: string): InboundMessage {
  return { ...template, messageId: scheduledMessageId(scheduleId) };
}

export const reminderWorkflowId = (jobId: string) => `reminder:${jobId}`;
