// The reply step: sent once per key through the reply outbox (runs/reply-outbox.ts) by the channel's adapter, in
// order within its conversation, then recorded in the transcript (conversations/transcript.ts) and the run's
// event log.
import { recordOutboundMessage, storedText } from '../conversations/transcript.js';
import { NotFoundError } from '../core/errors.js';
import type { OutboundReply, ReplyTarget, SentMessageRef } from '../core/message.js';
import { sendOnce } from '../runs/reply-outbox.js';
import type { ActivityDeps } from './deps.js';
import { recordRunEvent, runEventCte } from './run-events.js';

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
      const { sent, duplicate } = await sendOnce(
        db,
        {
          key,
          workflowId: input.workflowId,
          channel: target.channel,
          kind: input.kind,
          storedText: storedText(input.reply.text, anonymise),
          // A run's answers keep their order in the conversation (progress notices and reminders need not).
          conversation: input.kind === 'final' ? input.conversationId : undefined,
          request: { target, reply: input.reply },
        },
        {
          send: (request, idempotencyKey) =>
            adapterFor(request.target).send(request.target, { ...request.reply, idempotencyKey }),
          onSent: (row) => metrics.repliesSent.inc({ channel: row.channel, kind: row.kind, result: 'sent' }),
        },
      );
      if (duplicate) {
        metrics.repliesSent.inc({ channel: target.channel, kind: input.kind, result: 'skipped_duplicate' });
        logger.info({ key, workflowId: input.workflowId }, 'reply already sent; not sending again');
      }
      // Recorded also for a duplicate: the reply may have been sent by an earlier reply of its conversation
      // (runs/reply-outbox.ts), or by an attempt of ours that died before recording it. Both records are
      // idempotent. For a duplicate they are best effort: the reply is out, and a record that keeps failing must
      // not keep the run from finishing (the first attempt's failure was already retried once).
      const record = async () => {
        const type = input.kind === 'final' ? 'reply' : 'progress';
        const data = { text: input.reply.text, kind: input.kind };
        const options = { workflowId: input.workflowId, dedupeSuffix: key };
        // The transcript records what was said in the run's conversation; progress notices are not part of it.
        if (input.kind !== 'progress' && input.conversationId) {
          // The event rides in the transcript's statement: one round trip, each row still written once.
          await recordOutboundMessage(
            db,
            {
              id: key,
              conversationId: input.conversationId,
              workflowId: input.workflowId,
              text: input.reply.text,
              anonymise,
            },
            runEventCte(type, data, options),
          );
        } else {
          await recordRunEvent(db, type, data, options);
        }
      };
      if (!duplicate) await record();
      else
        await record().catch((error: unknown) =>
          logger.warn({ key, workflowId: input.workflowId, err: error }, 'a sent reply could not be recorded'),
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
