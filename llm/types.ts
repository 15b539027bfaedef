// The plain-data shapes of a chat exchange, shared by the client (an activity) and the tool loop (workflow
// code). Types only: they travel through Temporal payloads, so nothing here may be a class or need an import.

export interface ToolCall {
  id: string;
  name: string;
  /** The model's arguments exactly as sent: a JSON string that has not been validated yet. */
  arguments: string;
}

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: ToolCall[] }
  | { role: 'tool'; toolCallId: string; name: string; content: string };

export interface AssistantMessage {
  content: string;
  toolCalls: ToolCall[];
}

/** A function the model may call, in the OpenAI function-calling shape every compatible vendor accepts. */
export interface ToolSpec {
  type: 'function';
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; name: string; schema: Record<string, unknown>; strict?: boolean };

export interface ChatRequest {
  messages: ChatMessage[];
  tools?: ToolSpec[];
  responseFormat?: ResponseFormat;
  temperature?: number;
}

export interface ChatResult {
  message: AssistantMessage;
  usage: { promptTokens: number; completionTokens: number };
  model: string;
  latencyMs: number;
  /** The configured provider and model that answered, and whether the answer came from the response cache. */
  servedBy?: { provider: string; model: string; cached: boolean };
}

export interface ChatOptions {
  signal?: AbortSignal;
  /** Overrides the provider's timeout for this call (the router passes what is left after a queue wait). */
  timeoutMs?: number;
}

export interface LlmClient {
  /** The provider's name (a preset such as `deepseek`, or `openai-compatible`), for logs and metrics. */
  readonly provider: string;
  readonly model: string;
  chat(request: ChatRequest, options?: ChatOptions): Promise<ChatResult>;
}
