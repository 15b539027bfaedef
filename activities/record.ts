// The run's bookkeeping steps: the run's row when it starts and when it finishes (runs/run-record.ts), and the
// parse step, which records the inbound message in the transcript and reads the conversation's memory back as
// context for the model (conversations/). Every write is idempotent: a retried or replayed activity writes
// nothing twice.

import { loadConversationContext } from '../conversations/memory.js';
import { conversationKey, recordInboundMessage } from '../conversations/transcript.js';
import type { InboundMessage } from '../core/message.js';
import type { LlmSettings } from '../llm/settings.js';
import type { ChatMessage } from '../llm/types.js';
import type { IntentResult } from '../runs/contract.js';
import { fullText } from '../runs/offload-large-text.js';
import { type RunOutcome, recordRunFinish, recordRunStart } from '../runs/run-record.js';
import type { ActivityDeps } from './deps.js';
import { runEventCte } from './run-events.js';

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
    /** The first model of each role's failover list, for the steps' summaries and the ConduitModel attribute. */
    models?: { intent?: string; plan?: string };
  };
}

export function createRecordActivities({ config, db, metrics, llm, blobs, logger }: ActivityDeps) {
  return {
    /** The run's first step: its row exists from here on, whatever the verify step decides. */
    async recordRun({ workflowId, message }: { workflowId: string; message: InboundMessage }): Promise<void> {
      const inserted = await recordRunStart(db, {
        workflowId,
        channel: message.channel,
        messageId: message.messageId,
        conversationId: conversationKey(message),
        senderId: message.sender.id,
        replyTarget: message.replyTarget,
      });
      if (inserted) metrics.runsStarted.inc({ channel: message.channel });
    },

    async recordInbound({ workflowId, message }: { workflowId: string; message: InboundMessage }): Promise<RunContext> {
      const text = (await fullText(message, blobs)).trim();
      const { conversationId, recordedAt } = await recordInboundMessage(db, {
        workflowId,
        message,
        text,
        anonymise: config.privacy.anonymiseTranscripts,
      });
      // The parse event rides with the context read, the step's last statement, as it followed it before.
      const memory = await loadConversationContext(
        db,
        conversationId,
        recordedAt,
        config.pipeline.historyTokenBudget,
        runEventCte('step', { step: 'parse' }),
      );
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
          models: { intent: primaryModel(config.llm, 'intent'), plan: primaryModel(config.llm, 'plan') },
        },
      };
    },

    async finishRun(input: { workflowId: string; outcome: RunOutcome; intent?: IntentResult }): Promise<void> {
      const channel = await recordRunFinish(db, input);
      if (!channel) return;
      metrics.runsFinished.inc({ channel, outcome: input.outcome });
      // One line per finished run: the failed-runs search and alerts key on `outcome`.
      logger.info(
        { workflowId: input.workflowId, channel, outcome: input.outcome, intent: input.intent?.name },
        'run finished',
      );
    },
  };
}

/** The model a role tries first; a failover may answer with the next one. */
function primaryModel(llm: LlmSettings | undefined, role: 'intent' | 'plan'): string | undefined {
  const first = llm?.roles[role][0];
  return llm?.providers.find((provider) => provider.name === first)?.model;
}
