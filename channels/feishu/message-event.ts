// Feishu `im.message.receive_v1` event → Conduit's canonical message. Feishu redelivers an event it got no
// timely 200 for with the same message_id, which is why that id (not event_id) is the de-duplication key.
import { z } from 'zod';
import { BadRequestError } from '../../core/errors.js';
import type { InboundMessage, Person } from '../../core/message.js';
import { describeIssue } from '../../core/validation.js';
import type { IngressOutcome } from '../adapter.js';
import { readMessageContent } from './content.js';

const userIds = z.object({
  open_id: z.string().optional(),
  user_id: z.string().optional(),
  union_id: z.string().optional(),
});

const mentionSchema = z.object({
  key: z.string().min(1),
  id: userIds.optional(),
  name: z.string().optional(),
  mentioned_type: z.string().optional(),
  bot_info: z.object({ app_id: z.string().optional() }).optional(),
});

const messageEventSchema = z.object({
  header: z.object({ app_id: z.string().optional() }),
  event: z.object({
    sender: z.object({ sender_id: userIds.optional(), sender_type: z.string().optional() }),
    message: z.object({
      message_id: z.string().min(1),
      chat_id: z.string().min(1),
      chat_type: z.string().min(1),
      message_type: z.string().min(1),
      content: z.string(),
      create_time: z.string().optional(),
      mentions: z.array(mentionSchema).optional(),
    }),
  }),
});

type Mention = z.infer<typeof mentionSchema>;

/** What send() needs to answer a Feishu message; kept in replyTarget.data. */
export interface FeishuReplyData {
  message_id: string;
  chat_id: string;
  chat_type: string;
}

export function parseFeishuMessageEvent(payload: unknown, appId: string, receivedAt: Date): IngressOutcome {
  const parsed = messageEventSchema.safeParse(payload);
  if (!parsed.success) {
    throw new BadRequestError(`invalid Feishu message event: ${describeIssue(parsed.error)}`);
  }
  const { sender, message } = parsed.data.event;
  // The bot's own messages (and other apps') would otherwise loop back into a run.
  if (sender.sender_type === 'app') return { kind: 'ignore', reason: 'sent_by_app', detail: 'message sent by an app' };
  const senderId = sender.sender_id?.open_id;
  if (!senderId) throw new BadRequestError('invalid Feishu message event: sender has no open_id');

  const mentions = message.mentions ?? [];
  const ownBot = findOwnBotMention(mentions, appId, message.chat_type, message.content);
  const others = mentions.filter((mention) => mention !== ownBot);
  const resolve = (key: string) => {
    const mention = mentions.find((candidate) => candidate.key === key);
    if (!mention) return undefined;
    return mention === ownBot ? '' : `@${mention.name ?? mentionId(mention)}`;
  };
  const content = readMessageContent(
    message.message_type,
    message.content,
    resolve,
    mentions.map((mention) => mention.key),
  );
  if (!content) {
    return {
      kind: 'ignore',
      reason: 'unhandled_message_type',
      detail: `Feishu message_type ${message.message_type.slice(0, 100)} is not handled`,
    };
  }

  const data: FeishuReplyData = {
    message_id: message.message_id,
    chat_id: message.chat_id,
    chat_type: message.chat_type,
  };
  const inbound: InboundMessage = {
    channel: 'feishu',
    messageId: message.message_id,
    conversationId: message.chat_id,
    conversationType: message.chat_type === 'p2p' ? 'direct' : 'group',
    sender: { id: senderId },
    text: content.text,
    mentions: others.map(toPerson),
    attachments: content.attachments,
    sentAt: toIso(message.create_time, receivedAt),
    replyTarget: { channel: 'feishu', data: { ...data } },
  };
  return { kind: 'message', message: inbound };
}

/**
 * Newer events mark mentions with `mentioned_type: 'bot'` and `bot_info.app_id`. Older ones do not; then, in a
 * group (where the bot only hears messages that @mention it), the mention the text opens with is taken as the bot.
 */
function findOwnBotMention(
  mentions: Mention[],
  appId: string,
  chatType: string,
  rawContent: string,
): Mention | undefined {
  if (mentions.some((mention) => mention.mentioned_type !== undefined)) {
    return mentions.find(
      (mention) =>
        mention.mentioned_type === 'bot' &&
        (mention.bot_info?.app_id === undefined || mention.bot_info.app_id === appId),
    );
  }
  if (chatType === 'p2p') return undefined;
  const text = leadingText(rawContent);
  return mentions.find((mention) => text.startsWith(mention.key));
}

function leadingText(rawContent: string): string {
  try {
    const content = JSON.parse(rawContent) as { text?: unknown };
    return typeof content.text === 'string' ? content.text.trimStart() : '';
  } catch {
    return '';
  }
}

function mentionId(mention: Mention): string {
  return mention.id?.open_id ?? mention.id?.user_id ?? mention.id?.union_id ?? mention.key;
}

function toPerson(mention: Mention): Person {
  return mention.name ? { id: mentionId(mention), name: mention.name } : { id: mentionId(mention) };
}

function toIso(createTimeMs: string | undefined, fallback: Date): string {
  const ms = createTimeMs !== undefined && /^\d+$/.test(createTimeMs) ? Number(createTimeMs) : fallback.getTime();
  return new Date(ms).toISOString();
}
