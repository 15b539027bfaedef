// DingTalk robot callback body → Conduit's canonical message. Only fields Conduit uses are validated; the
// session webhook and ids needed to answer later are kept in replyTarget.data.
import { z } from 'zod';
import { BadRequestError } from '../../core/errors.js';
import type { AttachmentRef, InboundMessage, Person } from '../../core/message.js';
import { describeIssue } from '../../core/validation.js';
import type { IngressOutcome } from '../adapter.js';

const callbackSchema = z.object({
  msgId: z.string().min(1),
  msgtype: z.string().min(1),
  conversationId: z.string().min(1),
  conversationType: z.enum(['1', '2']),
  senderId: z.string().optional(),
  senderStaffId: z.string().optional(),
  senderNick: z.string().optional(),
  chatbotUserId: z.string().optional(),
  robotCode: z.string().optional(),
  createAt: z.number().optional(),
  sessionWebhook: z.string().optional(),
  sessionWebhookExpiredTime: z.number().optional(),
  atUsers: z.array(z.object({ dingtalkId: z.string().optional(), staffId: z.string().optional() })).optional(),
  text: z.object({ content: z.string() }).optional(),
  content: z.unknown().optional(),
});

type Callback = z.infer<typeof callbackSchema>;

/** What send() needs to answer a DingTalk message; kept in replyTarget.data. */
export interface DingTalkReplyData {
  sessionWebhook?: string;
  sessionWebhookExpiredTime?: number;
  conversationType: '1' | '2';
  conversationId: string;
  senderStaffId?: string;
  robotCode?: string;
}

const downloadable = z.object({
  downloadCode: z.string().optional(),
  pictureDownloadCode: z.string().optional(),
  fileName: z.string().optional(),
  recognition: z.string().optional(),
});

const richTextSchema = z.object({
  richText: z.array(
    z.object({ text: z.string().optional(), type: z.string().optional(), downloadCode: z.string().optional() }),
  ),
});

export function parseDingTalkCallback(rawBody: string, receivedAt: Date): IngressOutcome {
  let json: unknown;
  try {
    json = JSON.parse(rawBody);
  } catch {
    throw new BadRequestError('body is not valid JSON');
  }
  const parsed = callbackSchema.safeParse(json);
  if (!parsed.success) {
    throw new BadRequestError(`invalid DingTalk callback: ${describeIssue(parsed.error)}`);
  }
  const body = parsed.data;
  const content = readContent(body);
  if (!content) {
    return {
      kind: 'ignore',
      reason: 'unhandled_message_type',
      detail: `DingTalk msgtype ${body.msgtype.slice(0, 100)} is not handled`,
    };
  }

  const senderId = body.senderStaffId || body.senderId;
  if (!senderId) throw new BadRequestError('invalid DingTalk callback: no sender id');
  const mentions = readMentions(body);
  const data: DingTalkReplyData = {
    sessionWebhook: body.sessionWebhook,
    sessionWebhookExpiredTime: body.sessionWebhookExpiredTime,
    conversationType: body.conversationType,
    conversationId: body.conversationId,
    senderStaffId: body.senderStaffId,
    robotCode: body.robotCode,
  };
  const sender: Person = body.senderNick ? { id: senderId, name: body.senderNick } : { id: senderId };
  const message: InboundMessage = {
    channel: 'dingtalk',
    messageId: body.msgId,
    conversationId: body.conversationId,
    conversationType: body.conversationType === '1' ? 'direct' : 'group',
    sender,
    text: body.msgtype === 'text' ? stripBotMention(content.text, body, mentions) : content.text.trim(),
    mentions,
    attachments: content.attachments,
    sentAt: new Date(body.createAt ?? receivedAt.getTime()).toISOString(),
    replyTarget: { channel: 'dingtalk', data: withoutUndefined(data) },
  };
  return { kind: 'message', message };
}

function readContent(body: Callback): { text: string; attachments: AttachmentRef[] } | undefined {
  switch (body.msgtype) {
    case 'text':
      return { text: body.text?.content ?? '', attachments: [] };
    case 'richText': {
      const rich = richTextSchema.safeParse(body.content);
      if (!rich.success) throw new BadRequestError('invalid DingTalk richText content');
      let text = '';
      const attachments: AttachmentRef[] = [];
      for (const part of rich.data.richText) {
        if (part.text !== undefined) text += part.text;
        else if (part.type === 'picture' && part.downloadCode) {
          attachments.push({ kind: 'image', platformRef: part.downloadCode });
        }
      }
      return { text, attachments };
    }
    case 'picture':
    case 'file':
    case 'audio':
    case 'video': {
      const file = downloadable.safeParse(body.content);
      const code = file.success ? file.data.downloadCode : undefined;
      if (!file.success || !code) throw new BadRequestError(`invalid DingTalk ${body.msgtype} content`);
      const kind = body.msgtype === 'picture' ? 'image' : body.msgtype;
      const attachment: AttachmentRef = { kind, platformRef: code };
      if (file.data.fileName) attachment.name = file.data.fileName;
      // DingTalk transcribes voice messages itself; the transcript is the most useful text to act on.
      return { text: file.data.recognition ?? '', attachments: [attachment] };
    }
    default:
      return undefined;
  }
}

/** Users the message @mentions, excluding the robot itself. */
function readMentions(body: Callback): Person[] {
  const mentions: Person[] = [];
  for (const user of body.atUsers ?? []) {
    if (user.dingtalkId && user.dingtalkId === body.chatbotUserId) continue;
    const id = user.staffId || user.dingtalkId;
    if (id) mentions.push({ id });
  }
  return mentions;
}

/**
 * DingTalk usually removes the robot's own @mention and leaves a leading space, but not always. A leading
 * `@name` is only dropped when the robot is the sole user mentioned, so a mention of a colleague survives.
 */
function stripBotMention(text: string, body: Callback, others: Person[]): string {
  const trimmed = text.trim();
  const robotMentioned = body.atUsers?.some((user) => user.dingtalkId === body.chatbotUserId) ?? false;
  if (body.conversationType === '2' && robotMentioned && others.length === 0) {
    return trimmed.replace(/^@\S+\s*/, '').trim();
  }
  return trimmed;
}

function withoutUndefined(data: DingTalkReplyData): Record<string, unknown> {
  return Object.fromEntries(Object.entries(data).filter(([, value]) => value !== undefined));
}
