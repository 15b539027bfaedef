// The bridge's inbound body and its mapping onto Conduit's canonical message. Validation happens here, after
// the token check, so the adapter only ever sees well-formed input.
import { z } from 'zod';
import { BadRequestError } from '../../core/errors.js';
import type { InboundMessage } from '../../core/message.js';
import { describeIssue } from '../../core/validation.js';

const id = z.string().trim().min(1).max(256);

/** `{"id", "room", "user", "user_name"?, "text", "direct"?}`: one chat message, as the bridge relays it. */
export const bridgeMessageSchema = z.object({
  /** The bridged system's message id: a redelivery with the same id finds the run it already started. */
  id,
  /** Where the message was said; replies go back to the same room. */
  room: id,
  user: id,
  user_name: z.string().max(256).optional(),
  text: z.string().min(1).max(100_000),
  /** A one-to-one conversation with the bot rather than a room of several people. */
  direct: z.boolean().default(false),
});

/** What send() needs to answer, kept in replyTarget.data (plain data: it travels through Temporal). */
export interface BridgeReplyData {
  room: string;
  in_reply_to: string;
}

export function parseBridgeMessage(rawBody: string, receivedAt: Date): InboundMessage {
  let json: unknown;
  try {
    json = JSON.parse(rawBody);
  } catch {
    throw new BadRequestError('body is not valid JSON');
  }
  const parsed = bridgeMessageSchema.safeParse(json);
  if (!parsed.success) throw new BadRequestError(`invalid message: ${describeIssue(parsed.error)}`);
  const body = parsed.data;
  const data: BridgeReplyData = { room: body.room, in_reply_to: body.id };
  return {
    channel: 'bridge',
    messageId: body.id,
    conversationId: body.room,
    conversationType: body.direct ? 'direct' : 'group',
    sender: body.user_name === undefined ? { id: body.user } : { id: body.user, name: body.user_name },
    text: body.text,
    mentions: [],
    attachments: [],
    sentAt: receivedAt.toISOString(),
    replyTarget: { channel: 'bridge', data: { ...data } },
  };
}
