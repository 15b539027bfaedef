// The parse step's side effects and the run's bookkeeping: the conversation, the inbound message and the run
// are recorded (idempotently: a retried or replayed activity writes nothing twice), and recent history is
// read back as context for the model.
import { and, eq } from 'drizzle-orm';
import type { InboundMessage } from '../core/message.js';
import { conversations, messages, runs } from '../db/schema.js';
import type { ChatMessage } from '../llm/types.js';
import { maskPii } from '../pii/masking.js';
import type { IntentResult, RunStatus } from '../runs/contract.js';
import { fullText } from '../runs/offload-large-text.js';
import type { ActivityDeps } from './deps.js';
import { loadConversationContext } from './memory.js';
import { recordRunEvent } from './run-events.js';

/**
 * The most text a run carries through its steps. Longer messages are stored whole (database, object store)
 * but the model sees this much: far beyond chat-sized input, and well inside Temporal's payload limits.
 */
export const MAX_PIPELINE_TEXT_CHARS = 32_000;

export interface RunContext {
  /** The text the pipeline acts on: trimmed, with the bot's own @mention removed by the channel. */
  text: string;
  history: ChatMessage[];
  /** The running summary of the conversation before `history`, when there is one. */
  summary?: string;
  needsCompaction: boolean;
  conversationId: string;
  settings: {
    llmConfigured: boolean;
    maxToolSteps: number;
    progressDelayMs: number;
    approvalTimeoutMs: number;
    llmTimeoutMs: number;
  };
}

export const conversationKey = (message: InboundMessage) => `${message.channel}:${message.conversationId}`;

/** The transcript's copy of a text: with TRANSCRIPT_ANONYMISE, personal data becomes placeholders for good. */
export const storedText = (text: string, anonymise: boolean) =>
  anonymise ? maskPii(text, { reversible: false }).text : text;

export function createRecordActivities({ config, db, metrics, llm, blobs, logger }: ActivityDeps) {
  return {
    async recordInbound({ workflowId, message }: { workflowId: string; message: InboundMessage }): Promise<RunContext> {
      const conversationId = conversationKey(message);
      const text = (await fullText(message, blobs)).trim();
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
          replyTarget: message.replyTarget,
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
          text: storedText(text, config.privacy.anonymiseTranscripts),
        })
        .onConflictDoNothing();
      const thisMessage = await db
        .select({ createdAt: messages.createdAt })
        .from(messages)
        .where(eq(messages.id, `${workflowId}:in`));
      const before = thisMessage[0]?.createdAt ?? new Date();
      const memory = await loadConversationContext(db, conversationId, before, config.pipeline.historyTokenBudget);
      await recordRunEvent(db, 'step', { step: 'parse' });
      return {
        text:
          text.length > MAX_PIPELINE_TEXT_CHARS
            ? `${text.slice(0, MAX_PIPELINE_TEXT_CHARS)}\n[… message truncated]`
            : text,
        history: memory.history,
        summary: memory.summary,
        needsCompaction: memory.needsCompaction,
        conversationId,
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
      if (channel) {
        metrics.runsFinished.inc({ channel, outcome: input.outcome });
        // One line per finished run: the failed-runs search and alerts key on `outcome`.
        logger.info(
          { workflowId: input.workflowId, channel, outcome: input.outcome, intent: input.intent?.name },
          'run finished',
        );
      }
    },
  };
}
