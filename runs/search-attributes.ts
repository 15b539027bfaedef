// The search attributes Conduit registers and sets on its runs, so a person finds runs in the Temporal UI and CLI
// by channel, conversation, sender, intent, current step, outcome, model and tools used (docs/operations.md).
// Workflow-safe (definitions only). Search attributes are not encrypted: message text never goes in one, and
// conversation and sender hold pseudonyms (run-labels.ts, docs/security.md).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const CHANNEL_ATTRIBUTE = defineSearchAttributeKey('ConduitChannel', SearchAttributeType.KEYWORD);
export const CONVERSATION_ATTRIBUTE = defineSearchAttributeKey('ConduitConversation', SearchAttributeType.KEYWORD);
export const SENDER_ATTRIBUTE = defineSearchAttributeKey('ConduitSender', SearchAttributeType.KEYWORD);
export const INTENT_ATTRIBUTE = defineSearchAttributeKey('ConduitIntent', SearchAttributeType.KEYWORD);
export const STEP_ATTRIBUTE = defineSearchAttributeKey('ConduitStep', SearchAttributeType.KEYWORD);
export const OUTCOME_ATTRIBUTE = defineSearchAttributeKey('ConduitOutcome', SearchAttributeType.KEYWORD);
export const MODEL_ATTRIBUTE = defineSearchAttributeKey('ConduitModel', SearchAttributeType.KEYWORD);
export const TOOLS_ATTRIBUTE = defineSearchAttributeKey('ConduitTools', SearchAttributeType.KEYWORD_LIST);

/** Every attribute Conduit sets: registered on the embedded dev server at start and once per cluster. */
export const CONDUIT_SEARCH_ATTRIBUTES = [
  CHANNEL_ATTRIBUTE,
  CONVERSATION_ATTRIBUTE,
  SENDER_ATTRIBUTE,
  INTENT_ATTRIBUTE,
  STEP_ATTRIBUTE,
  OUTCOME_ATTRIBUTE,
  MODEL_ATTRIBUTE,
  TOOLS_ATTRIBUTE,
] as const;

/** The type names the Temporal CLI takes (`--search-attribute Name=Type`, `operator search-attribute create`). */
export const CLI_TYPE_NAMES: Record<(typeof CONDUIT_SEARCH_ATTRIBUTES)[number]['type'], string> = {
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.KEYWORD_LIST]: 'KeywordList',
};

/** `Name=Type` per attribute, as the dev server's `--search-attribute` flag takes them. */
export const searchAttributeFlags = (): string[] =>
  CONDUIT_SEARCH_ATTRIBUTES.map((key) => `${key.name}=${CLI_TYPE_NAMES[key.type]}`);
