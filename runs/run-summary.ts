// One line a person reads in the Temporal UI's run list and history header: the channel, who wrote, and the first
// words of the message, with personal data masked as in the logs (pii/masking.ts). It travels as user metadata,
// which the payload codec encrypts like any payload. Workflow-safe (pure functions), so child runs use it too.
import type { InboundMessage } from '../core/message.js';
import { maskPii } from '../pii/masking.js';

/** How much of the message a summary shows: enough to recognise it, never the whole of a long text. */
const FIRST_WORDS = 8;
const MAX_CHARS = 60;

/** The first words of a text, masked and cut to one short line. */
export function firstWords(text: string): string {
  const words = maskPii(text, { reversible: false }).text.split(/\s+/).filter(Boolean);
  let line = words.slice(0, FIRST_WORDS).join(' ');
  if (line.length > MAX_CHARS) line = `${line.slice(0, MAX_CHARS - 1)}…`;
  else if (words.length > FIRST_WORDS) line = `${line} …`;
  return line;
}

/** Who wrote, as a person recognises them: the display name when the platform gave one, else the id. */
export function senderLabel(message: Pick<InboundMessage, 'sender'>): string {
  return maskPii(message.sender.name?.trim() || message.sender.id, { reversible: false }).text.slice(0, 40);
}

/** `feishu · Zhang San: "what is the weather in …"` */
export function messageRunSummary(message: Pick<InboundMessage, 'channel' | 'sender' | 'text'>): string {
  return `${message.channel} · ${senderLabel(message)}: "${firstWords(message.text)}"`;
}

/** `reminder r-1a2b · feishu · Zhang San, due 2026-11-28T06:00:00.000Z: "stretch"` */
export function reminderRunSummary(
  jobId: string,
  message: Pick<InboundMessage, 'channel' | 'sender'>,
  text: string,
  dueAtMs: number,
): string {
  return `reminder ${jobId} · ${message.channel} · ${senderLabel(message)}, due ${new Date(dueAtMs).toISOString()}: "${firstWords(text)}"`;
}
