// The parse step's side effects and the run's bookkeeping: the conversation, the inbound message and the run
// are recorded (idempotently: a retried or replayed activity writes nothing twice), and recent history is
// read back as context for the model.
import { and, desc, eq, lt } from 'drizzle-orm';
import type { InboundMessage } from '../core/message.js';
import { conversations, messages, runs } from '../db/schema.js';
import type { ChatMessage } from '../llm/types.js';
import type { IntentResult, RunStatus } from '../workflows/definitions.js';
import type { ActivityDeps } from './deps.js';
import { recordRunEvent } from './run-events.js';

export const HISTORY_MESSAGES = 12;

export interface RunContext {
  /** The text the pipeline acts on: trimmed, with the bot's own @mention removed by the channel. */
  text: string;
  history: ChatMessage[];
  settings: {
    llmConfigured: boolean;
    maxToolSteps: number;
    progressDelayMs: number;
    approvalTimeoutMs: number;
    llmTimeoutMs: number;
  };
}

export const conversationKey = (message: InboundMessage) => `${message.channel}:${message.conversationId}`;

export function createRecordActivities({ config, db, metrics, llm }: ActivityDeps) {
  return {
    async recordInbound({ workflowId, message }: { workflowId: string; message: InboundMessage }): Promise<RunContext> {
      const conversationId = conversationKey(message);
      const text = message.text.trim();
      await db
        .insert(conversations)
        .values({
          id: conversationId,
          channel: message.channel,
          externalId: message.conversationId,
          type: message.conversationType,
        })
        .onConflictDoUpdate({ target: conversations.id, set: { lastMessageAt: new Date() } });
      const inserted = await db
        .insert(runs)
        .values({
          workflowId,
          channel: message.channel,
          messageId: message.messageId,
          conversationId,
          senderId: message.sender.id,
        })
        .onConflictDoNothing()
        .returning({ workflowId: runs.workflowId });
      if (inserted.length > 0) metrics.runsStarted.inc({ channel: message.channel });
      await db
        .insert(messages)
        .values({
          id: `${workflowId}:in`,
          conversationId,
          workflowId,
          direction: 'in',
          senderId: message.sender.id,
          senderName: message.sender.name,
          text,
        })
        .onConflictDoNothing();
      const thisMessage = await db
        .select({ createdAt: messages.createdAt })
        .from(messages)
        .where(eq(messages.id, `${workflowId}:in`));
      const before = thisMessage[0]?.createdAt ?? new Date();
      const recent = await db
        .select({ direction: messages.direction, text: messages.text })
        .from(messages)
        .where(and(eq(messages.conversationId, conversationId), lt(messages.createdAt, before)))
        .orderBy(desc(messages.createdAt))
        .limit(HISTORY_MESSAGES);
      await recordRunEvent(db, 'step', { step: 'parse' });
      const history: ChatMessage[] = recent
        .reverse()
        .map((row) =>
          row.direction === 'in' ? { role: 'user', content: row.text } : { role: 'assistant', content: row.text },
        );
      return {
        text,
        history,
        settings: {
          llmConfigured: llm !== undefined,
          maxToolSteps: config.pipeline.maxToolSteps,
          progressDelayMs: config.pipeline.progressDelayMs,
          approvalTimeoutMs: config.pipeline.approvalTimeoutMs,
          llmTimeoutMs: config.llm?.timeoutMs ?? 60_000,
        },
      };
    },

    async finishRun(input: {
      workflowId: string;
      message: InboundMessage;
      outcome: NonNullable<RunStatus['outcome']>;
      intent?: IntentResult;
      replyText: string;
    }): Promise<void> {
      const status = input.outcome === 'refused' ? 'refused' : input.outcome === 'failed' ? 'failed' : 'completed';
      // A run refused at the verify step never reached recordInbound: its row is written here.
      await db
        .insert(runs)
        .values({
          workflowId: input.workflowId,
          channel: input.message.channel,
          messageId: input.message.messageId,
          conversationId: conversationKey(input.message),
          senderId: input.message.sender.id,
        })
        .onConflictDoNothing();
      const updated = await db
        .update(runs)
        .set({
          status,
          intent: input.intent?.name,
          intentConfidence: input.intent?.confidence,
          completedAt: new Date(),
        })
        .where(and(eq(runs.workflowId, input.workflowId), eq(runs.status, 'running')))
        .returning({ channel: runs.channel });
      const channel = updated[0]?.channel;
      if (channel) metrics.runsFinished.inc({ channel, outcome: input.outcome });
    },
  };
}
