// Reads a Feishu message's `content` (a JSON string whose shape depends on message_type) into plain text and
// attachment references. Mention placeholders (`@_user_1`) are rewritten by the caller-supplied resolver.
import { BadRequestError } from '../../core/errors.js';
import type { AttachmentRef } from '../../core/message.js';

/** Text to put in place of a mention key such as `@_user_1` ('' for the bot itself, `@name` for others). */
export type MentionResolver = (key: string) => string | undefined;

export interface MessageContent {
  text: string;
  attachments: AttachmentRef[];
}

interface PostElement {
  tag?: string;
  text?: string;
  user_id?: string;
  user_name?: string;
  image_key?: string;
  file_key?: string;
}

/** Undefined for message types Conduit does not act on (stickers, cards, shared chats…). */
export function readMessageContent(
  messageType: string,
  rawContent: string,
  resolve: MentionResolver,
  mentionKeys: string[],
): MessageContent | undefined {
  let content: Record<string, unknown>;
  try {
    content = JSON.parse(rawContent) as Record<string, unknown>;
  } catch {
    throw new BadRequestError('Feishu message content is not valid JSON');
  }
  if (typeof content !== 'object' || content === null)
    throw new BadRequestError('Feishu message content is not an object');
  const str = (key: string) => (typeof content[key] === 'string' ? (content[key] as string) : undefined);

  switch (messageType) {
    case 'text':
      return { text: replaceMentions(str('text') ?? '', resolve, mentionKeys).trim(), attachments: [] };
    case 'post':
      return readPost(content, resolve, mentionKeys);
    case 'image':
      return withAttachment({ kind: 'image', platformRef: str('image_key') });
    case 'file':
      return withAttachment({ kind: 'file', platformRef: str('file_key'), name: str('file_name') });
    case 'audio':
      return withAttachment({ kind: 'audio', platformRef: str('file_key') });
    case 'media':
      return withAttachment({ kind: 'video', platformRef: str('file_key'), name: str('file_name') });
    default:
      return undefined;
  }
}

function withAttachment(attachment: AttachmentRef): MessageContent {
  if (!attachment.platformRef) throw new BadRequestError(`Feishu ${attachment.kind} message has no key`);
  if (attachment.name === undefined) delete attachment.name;
  return { text: '', attachments: [attachment] };
}

/** Rich text arrives either as `{title, content}` or wrapped in a locale (`{"zh_cn": {title, content}}`). */
function readPost(content: Record<string, unknown>, resolve: MentionResolver, mentionKeys: string[]): MessageContent {
  const body = Array.isArray(content['content'])
    ? content
    : (Object.values(content).find((value) => typeof value === 'object' && value !== null) as
        | Record<string, unknown>
        | undefined);
  const paragraphs = Array.isArray(body?.['content']) ? (body['content'] as unknown[]) : [];
  const attachments: AttachmentRef[] = [];
  const lines: string[] = [];
  const title = typeof body?.['title'] === 'string' ? body['title'].trim() : '';
  if (title) lines.push(title);
  for (const paragraph of paragraphs) {
    if (!Array.isArray(paragraph)) continue;
    let line = '';
    for (const element of paragraph as PostElement[]) {
      switch (element.tag) {
        case 'text':
        case 'a':
        case 'code_block':
          line += replaceMentions(element.text ?? '', resolve, mentionKeys);
          break;
        case 'at': {
          const replacement = element.user_id ? resolve(element.user_id) : undefined;
          line += replacement ?? (element.user_name ? `@${element.user_name}` : '');
          break;
        }
        case 'img':
          if (element.image_key) attachments.push({ kind: 'image', platformRef: element.image_key });
          break;
        case 'media':
          if (element.file_key) attachments.push({ kind: 'video', platformRef: element.file_key });
          break;
      }
    }
    lines.push(line.trim());
  }
  return { text: lines.join('\n').trim(), attachments };
}

function replaceMentions(text: string, resolve: MentionResolver, mentionKeys: string[]): string {
  if (mentionKeys.length === 0) return text;
  // Longest keys first so `@_user_1` never matches inside `@_user_10`.
  const alternatives = [...mentionKeys].sort((a, b) => b.length - a.length).map(escapeRegExp);
  const pattern = new RegExp(`(${alternatives.join('|')}) ?`, 'g');
  return text.replace(pattern, (match, key: string) => {
    const replacement = resolve(key);
    if (replacement === undefined) return match;
    return replacement === '' ? '' : `${replacement}${match.slice(key.length)}`;
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
