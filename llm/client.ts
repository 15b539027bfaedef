// The one door to every OpenAI-compatible chat endpoint. It never retries (Temporal's activity retry policy
// owns that) and every failure leaves as an LlmRequestError that says whether a retry can help.
import OpenAI from 'openai';
import type {
  ChatCompletion,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import { LlmRequestError, toLlmError } from './errors.js';
import type { ResolvedProvider } from './presets.js';
import type {
  ChatMessage,
  ChatOptions,
  ChatRequest,
  ChatResult,
  LlmClient,
  ResponseFormat,
  ToolCall,
} from './types.js';

export interface LlmClientDeps {
  /** Replaces the global fetch, for tests and proxies. */
  fetch?: typeof fetch;
}

export function createLlmClient(provider: ResolvedProvider, deps: LlmClientDeps = {}): LlmClient {
  const openai = new OpenAI({
    // Local servers take no key; the header is dropped below so none is sent at all.
    apiKey: provider.apiKey ?? 'none',
    defaultHeaders: provider.apiKey === undefined ? { Authorization: null } : undefined,
    baseURL: provider.baseUrl,
    // Explicit nulls so OPENAI_* variables in the environment never leak into another vendor's requests.
    organization: null,
    project: null,
    maxRetries: 0,
    timeout: provider.timeoutMs,
    fetch: deps.fetch,
    logLevel: 'off',
  });

  return {
    provider: provider.name,
    model: provider.model,
    async chat(request: ChatRequest, options: ChatOptions = {}): Promise<ChatResult> {
      const started = performance.now();
      const timeoutMs = options.timeoutMs ?? provider.timeoutMs;
      let completion: ChatCompletion;
      try {
        completion = await openai.chat.completions.create(toParams(provider.model, request), {
          signal: options.signal,
          timeout: timeoutMs,
        });
      } catch (error) {
        throw toLlmError(error, provider.name, provider.apiKey, timeoutMs);
      }
      const latencyMs = Math.round(performance.now() - started);
      const choice = completion.choices?.[0];
      if (!choice?.message) {
        throw new LlmRequestError(`${provider.name}: response has no choices`, 200, undefined, { retryable: true });
      }
      const toolCalls: ToolCall[] = (choice.message.tool_calls ?? []).flatMap((call) =>
        call.type === 'function' ? [{ id: call.id, name: call.function.name, arguments: call.function.arguments }] : [],
      );
      return {
        message: { content: choice.message.content ?? '', toolCalls },
        usage: {
          promptTokens: completion.usage?.prompt_tokens ?? 0,
          completionTokens: completion.usage?.completion_tokens ?? 0,
        },
        model: completion.model || provider.model,
        latencyMs,
        servedBy: { provider: provider.name, model: provider.model, cached: false },
      };
    },
  };
}

function toParams(model: string, request: ChatRequest): ChatCompletionCreateParamsNonStreaming {
  const params: ChatCompletionCreateParamsNonStreaming = { model, messages: request.messages.map(toVendorMessage) };
  if (request.tools && request.tools.length > 0) params.tools = request.tools;
  if (request.responseFormat) params.response_format = toVendorFormat(request.responseFormat);
  if (request.temperature !== undefined) params.temperature = request.temperature;
  return params;
}

function toVendorMessage(message: ChatMessage): ChatCompletionMessageParam {
  switch (message.role) {
    case 'system':
    case 'user':
      return { role: message.role, content: message.content };
    case 'assistant':
      if (!message.toolCalls || message.toolCalls.length === 0) return { role: 'assistant', content: message.content };
      return {
        role: 'assistant',
        // Several vendors reject an empty string next to tool_calls but accept null.
        content: message.content === '' ? null : message.content,
        tool_calls: message.toolCalls.map((call) => ({
          id: call.id,
          type: 'function',
          function: { name: call.name, arguments: call.arguments },
        })),
      };
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
  }
}

function toVendorFormat(format: ResponseFormat): ChatCompletionCreateParamsNonStreaming['response_format'] {
  if (format.type !== 'json_schema') return format;
  return {
    type: 'json_schema',
    json_schema: { name: format.name, schema: format.schema, strict: format.strict ?? true },
  };
}
