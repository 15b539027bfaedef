// The message fields a client of Conduit's own API sends (POST /v1/messages, a WebSocket `message` frame, gRPC
// SendMessage, a schedule's message): one schema, so the doors cannot drift, and the one way such input becomes
// the canonical message.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { BadRequestError } from './errors.js';
import type { AuthenticatedSender, InboundMessage, Person } from './message.js';

const idPattern = /^[\w.:@-]{1,128}$/;

export const messageInputSchema = z.object({
  message_id: z.string().regex(idPattern).optional().describe('Your id for the message; a repeat returns the same run'),
  conversation_id: z.string().regex(idPattern),
  conversation_type: z.enum(['direct', 'group']).default('direct'),
  sender: z
    .object({ id: z.string().regex(idPattern), name: z.string().max(200).optional() })
    .optional()
    .describe('Who sent it: left out, or your own principal id, it is you; naming anyone else needs messages:act_for'),
  text: z.string().min(1).max(32_000),
});

export type MessageInput = z.infer<typeof messageInputSchema>;

/**
 * The canonical message of an API client's input; without a `message_id`, each call is a new message. The sender
 * is the one the API bound to the caller's credential (api/sender-identity.ts), never the input's own.
 */
export function toInboundMessage(
  channel: string,
  input: MessageInput,
  now: Date,
  bound: { sender: Person; authenticated: AuthenticatedSender },
): InboundMessage {
  return {
    channel,
    messageId: input.message_id ?? randomUUID(),
    conversationId: input.conversation_id,
    conversationType: input.conversation_type,
    // A schedule's message reaches runs without passing the door again: normalised here already.
    sender: person(bound.sender),
    text: storable(input.text),
    mentions: [],
    attachments: [],
    sentAt: now.toISOString(),
    // Conduit's own channels need nothing to answer: the reply reaches the client through the run's events
    // (WebSocket, gRPC) or the run's status (the API).
    replyTarget: { channel, data: {} },
    authenticated: bound.authenticated,
  };
}

/** The longest id the door takes (message, conversation, sender and mention ids, from any platform). */
export const MAX_ID_LENGTH = 256;

// Control characters (C0, DEL, C1) and lone surrogates: no platform sends them in an id, and PostgreSQL text
// cannot hold NUL at all.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const BAD_ID_CHARACTER = /[\u0000-\u001f\u007f-\u009f]|[\uD800-\uDFFF]/u;
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is what PostgreSQL text cannot hold
const UNSTORABLE = /\u0000|[\uD800-\uDFFF]/gu;

/**
 * The door's rules for every channel's canonical message (runs/accept-message.ts). Ids are refused, never
 * rewritten (a rewritten id would be another message): 1 to 256 characters, no control characters, no lone
 * surrogates. Text is kept faithfully except for what PostgreSQL text cannot store: NUL and lone surrogates
 * become U+FFFD (the replacement character) in the text, names and the reply target's strings.
 */
export function checkInboundMessage(message: InboundMessage): InboundMessage {
  const ids: Array<[string, string]> = [
    ['message id', message.messageId],
    ['conversation id', message.conversationId],
    ['sender id', message.sender.id],
    ...message.mentions.map((person): [string, string] => ['mention id', person.id]),
  ];
  for (const [field, value] of ids) checkId(field, value);
  return {
    ...message,
    text: storable(message.text),
    sender: person(message.sender),
    mentions: message.mentions.map(person),
    attachments: message.attachments.map((attachment) => storableStrings(attachment) as typeof attachment),
    replyTarget: { ...message.replyTarget, data: storableStrings(message.replyTarget.data) as Record<string, unknown> },
  };
}

/** Throws BadRequestError unless `value` is an id the door takes (see checkInboundMessage). */
export function checkId(field: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0) throw new BadRequestError(`the ${field} is missing`);
  if (value.length > MAX_ID_LENGTH)
    throw new BadRequestError(`the ${field} is longer than ${MAX_ID_LENGTH} characters`);
  if (BAD_ID_CHARACTER.test(value)) {
    throw new BadRequestError(`the ${field} holds a control character or an unpaired surrogate`);
  }
}

const storable = (text: string) => text.replace(UNSTORABLE, '\uFFFD');
const person = (who: Person): Person => (who.name === undefined ? who : { ...who, name: storable(who.name) });

function storableStrings(value: unknown): unknown {
  if (typeof value === 'string') return storable(value);
  if (Array.isArray(value)) return value.map(storableStrings);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [storable(key), storableStrings(inner)]));
  }
  return value;
}
