// Renders replies in Feishu's message vocabulary: `text` for plain replies, `post` with an `md` element for
// markdown, and an interactive card (updatable in place) for progress notices.
import type { OutboundReply } from '../../core/message.js';

export interface FeishuMessageBody {
  msg_type: 'text' | 'post' | 'interactive';
  /** Feishu wants the content as a JSON string inside the JSON body. */
  content: string;
}

export function replyBody(reply: OutboundReply): FeishuMessageBody {
  const mentions = (reply.mentionUserIds ?? [])
    .map((openId) => `<at user_id="${escapeAttribute(openId)}"></at> `)
    .join('');
  if (reply.format === 'markdown') {
    return {
      msg_type: 'post',
      content: JSON.stringify({ zh_cn: { content: [[{ tag: 'md', text: `${mentions}${reply.text}` }]] } }),
    };
  }
  return { msg_type: 'text', content: JSON.stringify({ text: `${mentions}${reply.text}` }) };
}

/** A card with one markdown element; update_multi lets a later PATCH change it for everyone in the chat. */
export function progressCard(text: string): string {
  return JSON.stringify({
    config: { wide_screen_mode: true, update_multi: true },
    elements: [{ tag: 'markdown', content: text }],
  });
}

function escapeAttribute(value: string): string {
  return value.replace(/[&"<>]/g, (char) => `&#${char.charCodeAt(0)};`);
}
