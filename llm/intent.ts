// Classifies a message's intent with one structured-output LLM call. Vendors without json_schema support get
// json_object plus the schema in the prompt; an answer that still does not parse counts as low-confidence chat.
import { z } from 'zod';
import { LlmRequestError, LlmUnavailableError } from './errors.js';
import type { ChatMessage, ChatResult, LlmClient, ResponseFormat } from './types.js';

export const INTENTS = ['chat', 'question', 'task', 'smalltalk', 'reminder'] as const;
export type Intent = (typeof INTENTS)[number];

export interface IntentResult {
  intent: Intent;
  /** 0..1, as judged by the model. */
  confidence: number;
  reason: string;
}

const resultSchema = z.object({
  intent: z
    .string()
    .transform((value) => value.trim().toLowerCase())
    .pipe(z.enum(INTENTS)),
  confidence: z.number().min(0).max(1),
  reason: z.string(),
});

const jsonSchema = {
  type: 'object',
  properties: {
    intent: { type: 'string', enum: [...INTENTS] },
    confidence: { type: 'number', description: 'between 0 and 1' },
    reason: { type: 'string', description: 'one short sentence' },
  },
  required: ['intent', 'confidence', 'reason'],
  additionalProperties: false,
} as const;

const SYSTEM_PROMPT = [
  'You classify the intent of one chat message sent to an AI assistant. Intents:',
  '- chat: open conversation or anything that fits no other intent',
  '- question: asks for information or an explanation',
  '- task: asks the assistant to do something (look up, compute, write, change)',
  '- smalltalk: greetings, thanks, pleasantries',
  '- reminder: asks to be reminded or to schedule something for later',
  'Answer with JSON only: {"intent": ..., "confidence": number 0..1, "reason": short sentence}.',
].join('\n');

const FALLBACK_PROMPT = `${SYSTEM_PROMPT}\nThe JSON must match this JSON schema: ${JSON.stringify(jsonSchema)}`;

const MAX_TEXT_CHARS = 4000;

/** Clients whose vendor refused json_schema once; they go straight to json_object afterwards. */
const withoutJsonSchema = new WeakSet<LlmClient>();

export const UNPARSEABLE: IntentResult = { intent: 'chat', confidence: 0, reason: 'unparseable' };

export async function classifyIntentWithLlm(
  client: LlmClient,
  text: string,
  options: { signal?: AbortSignal; onResult?: (result: ChatResult) => void } = {},
): Promise<IntentResult> {
  const { onResult, ...chatOptions } = options;
  const user: ChatMessage = { role: 'user', content: text.slice(0, MAX_TEXT_CHARS) };
  const schemaFirst = !withoutJsonSchema.has(client);
  if (schemaFirst) {
    const format: ResponseFormat = { type: 'json_schema', name: 'intent', schema: jsonSchema, strict: true };
    try {
      const result = await client.chat(
        { messages: [{ role: 'system', content: SYSTEM_PROMPT }, user], responseFormat: format, temperature: 0 },
        chatOptions,
      );
      onResult?.(result);
      return parseIntent(result.message.content);
    } catch (error) {
      if (!rejectsJsonSchema(error)) throw error;
    }
  }
  const result = await client.chat(
    {
      messages: [{ role: 'system', content: FALLBACK_PROMPT }, user],
      responseFormat: { type: 'json_object' },
      temperature: 0,
    },
    chatOptions,
  );
  onResult?.(result);
  // Remembered only once json_object worked, so a 400 for some other reason does not downgrade the client.
  if (schemaFirst) withoutJsonSchema.add(client);
  return parseIntent(result.message.content);
}

/** Behind a router, one provider's refusal counts even when another provider was only unavailable. */
function rejectsJsonSchema(error: unknown): boolean {
  if (error instanceof LlmUnavailableError) return error.failures.some(rejectsJsonSchema);
  return error instanceof LlmRequestError && (error.status === 400 || error.status === 422);
}

/** Tolerates a Markdown fence or prose around the object, which some models add even in JSON mode. */
export function parseIntent(content: string): IntentResult {
  const start = content.indexOf('{');
  const end = content.lastIndexOf('}');
  if (start === -1 || end < start) return UNPARSEABLE;
  let value: unknown;
  try {
    value = JSON.parse(content.slice(start, end + 1));
  } catch {
    return UNPARSEABLE;
  }
  const parsed = resultSchema.safeParse(value);
  return parsed.success ? parsed.data : UNPARSEABLE;
}
