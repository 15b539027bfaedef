// The reply step. Record-then-send with a stable key: the outbox row is written before the message leaves
// and marked sent after, so a retried or replayed activity finds "sent" and posts nothing twice. The key
// also goes to platforms that de-duplicate themselves (Feishu's reply uuid).
import { eq, sql } from 'drizzle-orm';
import { recordOutboundMessage, storedText } from '../conversations/transcript.js';
import { NotFoundError } from '../core/errors.js';
import type { OutboundReply, ReplyTarget, SentMessageRef } from '../core/message.js';
import { replyOutbox } from '../db/schema.js';
import type { ActivityDeps } from './deps.js';
import { recordRunEvent } from './run-events.js';

export interface SendReplyInput {
  key: string;
  workflowId: string;
  kind: 'final' | 'progress' | 'reminder';
  target: ReplyTarget;
  reply: OutboundReply;
  /** The run's conversation (conversations-table key), when the reply belongs in its transcript. */
  conversationId?: string;
}

export function createReplyActivities({ db, channels, metrics, logger, config }: ActivityDeps) {
  const anonymise = config.privacy.anonymiseTranscripts;
  const adapterFor = (target: ReplyTarget) => {
    const adapter = channels.get(target.channel);
    if (!adapter) throw new NotFoundError(`channel ${target.channel} is not enabled on this worker`);
    return adapter;
  };

  return {
    async sendReply(input: SendReplyInput): Promise<SentMessageRef> {
      const { key, target } = input;
      await db
        .insert(replyOutbox)
        .values({
          key,
          workflowId: input.workflowId,
          channel: target.channel,
          kind: input.kind,
          text: storedText(input.reply.text, anonymise),
        })
        .onConflictDoNothing();
      const [row] = await db.select().from(replyOutbox).where(eq(replyOutbox.key, key));
      if (row?.status === 'sent') {
        metrics.repliesSent.inc({ channel: target.channel, kind: input.kind, result: 'skipped_duplicate' });
        logger.info({ key, workflowId: input.workflowId }, 'reply already sent; not sending again');
        return { channel: target.channel, platformMessageId: row.platformMessageId ?? undefined };
      }
      await db
        .update(replyOutbox)
        .set({ attempts: sql`${replyOutbox.attempts} + 1` })
        .where(eq(replyOutbox.key, key));
      const sent = await adapterFor(target).send(target, { ...input.reply, idempotencyKey: key });
      await db
        .update(replyOutbox)
        .set({ status: 'sent', sentAt: new Date(), platformMessageId: sent.platformMessageId })
        .where(eq(replyOutbox.key, key));
      // The transcript records what was said in the run's conversation; progress notices are not part of it.
      if (input.kind !== 'progress' && input.conversationId) {
        await recordOutboundMessage(db, {
          id: key,
          conversationId: input.conversationId,
          workflowId: input.workflowId,
          text: input.reply.text,
          anonymise,
        });
      }
      metrics.repliesSent.inc({ channel: target.channel, kind: input.kind, result: 'sent' });
      await recordRunEvent(
        db,
        input.kind === 'final' ? 'reply' : 'progress',
        { text: input.reply.text, kind: input.kind },
        { workflowId: input.workflowId, dedupeSuffix: key },
      );
      return sent;
    },

    /** Progress notices are best effort and may be edited in place; they are not recorded as messages. */
    async sendProgress(input: { key: string; target: ReplyTarget; text: string; previous?: SentMessageRef }) {
      const sent = await adapterFor(input.target).sendProgress(input.target, input.text, input.previous);
      metrics.repliesSent.inc({ channel: input.target.channel, kind: 'progress', result: 'sent' });
      await recordRunEvent(db, 'progress', { text: input.text }, { dedupeSuffix: `${input.key}:${input.text}` });
      return sent;
    },
  };
}
