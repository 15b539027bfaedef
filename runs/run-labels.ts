// What a message run carries from its start for people to find and read it: the search attributes known at once
// (channel, conversation, sender; search-attributes.ts) and the static summary and details shown by the Temporal
// UI (run-summary.ts). Conversation and sender ids are stored as pseudonyms, never as the platform's ids: search
// attributes are not encrypted (docs/security.md says why this choice, and how to compute one).
import { createHash } from 'node:crypto';
import type { SearchAttributePair } from '@temporalio/common';
import type { InboundMessage } from '../core/message.js';
import { messageRunSummary } from './run-summary.js';
import { CHANNEL_ATTRIBUTE, CONVERSATION_ATTRIBUTE, SENDER_ATTRIBUTE } from './search-attributes.js';

/**
 * The first 16 hex digits of SHA-256 over `conduit:<channel>:<platform id>`: the same id always gives the same
 * pseudonym, so a conversation's runs are found together; the list shows no platform id. An operator who has the
 * id computes it with `printf 'conduit:feishu:oc_123' | sha256sum | cut -c1-16`.
 */
export function pseudonym(channel: string, platformId: string): string {
  return createHash('sha256').update(`conduit:${channel}:${platformId}`).digest('hex').slice(0, 16);
}

/** The search attributes a message run starts with. */
export function messageRunAttributes(
  message: Pick<InboundMessage, 'channel' | 'conversationId' | 'sender'>,
): SearchAttributePair[] {
  return [
    { key: CHANNEL_ATTRIBUTE, value: message.channel },
    { key: CONVERSATION_ATTRIBUTE, value: pseudonym(message.channel, message.conversationId) },
    { key: SENDER_ATTRIBUTE, value: pseudonym(message.channel, message.sender.id) },
  ];
}

/** Static summary and details of a message run, for the workflow start options. */
export function messageRunMetadata(message: InboundMessage): { staticSummary: string; staticDetails: string } {
  const conversation = pseudonym(message.channel, message.conversationId);
  const sender = pseudonym(message.channel, message.sender.id);
  return {
    staticSummary: messageRunSummary(message),
    staticDetails: [
      `**${message.channel}** message in a ${message.conversationType} conversation, sent ${message.sentAt}.`,
      `Other runs of this conversation: \`ConduitConversation = '${conversation}'\`; of this sender: \`ConduitSender = '${sender}'\`.`,
    ].join('\n\n'),
  };
}
