// The custom endpoint's request body and its mapping onto Conduit's canonical message. Validation happens
// here, after the signature check, so the adapter only ever sees well-formed input.
import { z } from 'zod';
import { BadRequestError } from '../../core/errors.js';
import type { InboundMessage } from '../../core/message.js';
import { describeIssue } from '../../core/validation.js';

const id = z.string().trim().min(1).max(256);

export const customMessageSchema = z.object({
  message_id: id,
  conversation_id: id,
  sender: z.object({ id, name: z.string().max(256).optional() }),
  text: z.string().min(1).max(100_000),
  callback_url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
  conversation_type: z.enum(['direct', 'group']).default('direct'),
});

export type CustomMessage = z.infer<typeof customMessageSchema>;

/** What send() needs to answer a custom message; kept in replyTarget.data. */
export interface CustomReplyData {
  message_id: string;
  conversation_id: string;
  callback_url?: string;
}

export function parseCustomMessage(rawBody: string, receivedAt: Date): InboundMessage {
  let json: unknown;
  try {
    json = JSON.parse(rawBody);
  } catch {
    throw new BadRequestError('body is not valid JSON');
  }
  const parsed = customMessageSchema.safeParse(json);
  if (!parsed.success) {
    throw new BadRequestError(`invalid message: ${describeIssue(parsed.error)}`);
  }
  const body = parsed.data;
  const data: CustomReplyData = { message_id: body.message_id, conversation_id: body.conversation_id };
  if (body.callback_url) data.callback_url = body.callback_url;
  return {
    channel: 'custom',
    messageId: body.message_id,
    conversationId: body.conversation_id,
    conversationType: body.conversation_type,
    sender: body.sender.name === undefined ? { id: body.sender.id } : { id: body.sender.id, name: body.sender.name },
    text: body.text,
    mentions: [],
    attachments: [],
    sentAt: receivedAt.toISOString(),
    replyTarget: { channel: 'custom', data: { ...data } },
  };
}
