// Renders an OutboundReply in DingTalk's two vocabularies: the session webhook's msgtype bodies and the robot
// OpenAPI's msgKey/msgParam templates.
import type { OutboundReply } from '../../core/message.js';

export function sessionWebhookBody(reply: OutboundReply): Record<string, unknown> {
  const mentions = reply.mentionUserIds ?? [];
  // DingTalk only highlights a mention when the text also names the user as `@userId`.
  const text = mentions.length > 0 ? `${mentions.map((id) => `@${id}`).join(' ')} ${reply.text}` : reply.text;
  const body: Record<string, unknown> =
    reply.format === 'markdown'
      ? { msgtype: 'markdown', markdown: { title: markdownTitle(reply.text), text } }
      : { msgtype: 'text', text: { content: text } };
  if (mentions.length > 0) body['at'] = { atUserIds: mentions };
  return body;
}

export function robotApiMessage(reply: OutboundReply): { msgKey: string; msgParam: string } {
  return reply.format === 'markdown'
    ? { msgKey: 'sampleMarkdown', msgParam: JSON.stringify({ title: markdownTitle(reply.text), text: reply.text }) }
    : { msgKey: 'sampleText', msgParam: JSON.stringify({ content: reply.text }) };
}

/** The notification preview of a markdown message: its first line without markdown markers. */
export function markdownTitle(text: string): string {
  const firstLine = text
    .split('\n')
    .map((line) =>
      line
        .replace(/^[\s#>*\-`]+/, '')
        .replace(/[*_`]/g, '')
        .trim(),
    )
    .find((line) => line !== '');
  if (!firstLine) return 'Reply';
  return firstLine.length > 30 ? `${firstLine.slice(0, 29)}…` : firstLine;
}
