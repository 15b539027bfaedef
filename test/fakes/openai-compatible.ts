// A real HTTP server speaking the OpenAI chat-completions protocol, standing in for LLM vendors in tests and
// benchmarks. Replies are scripted per test (a queue); unscripted requests echo the last user message.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface FakeToolCall {
  id?: string;
  name: string;
  /** An object is serialized to JSON; a string is sent as-is (to script malformed arguments). */
  arguments: string | Record<string, unknown>;
}

/** One scripted reply. `status` >= 400 answers with an error; otherwise text, tool calls or JSON content. */
export interface FakeLlmReply {
  text?: string;
  toolCalls?: FakeToolCall[];
  json?: unknown;
  status?: number;
  /** OpenAI's error object; its shape is what the vendors copy. */
  error?: { message: string; type?: string; code?: string | null; param?: string | null };
  /** A raw error body, for vendors whose error shape differs. */
  body?: unknown;
  delayMs?: number;
  /** Holds the answer until this settles: keeps a model call open while a test acts (drops a client, say). */
  until?: Promise<unknown>;
  /**
   * Breaks the answer mid-body: status, headers and the first half of a complete answer go out, then the
   * connection is destroyed (a vendor or proxy dying mid-answer). `chunked` sends it without a content-length.
   */
  breakMidBody?: 'content-length' | 'chunked';
  /** Extra response headers, e.g. `retry-after` on a 429. */
  headers?: Record<string, string>;
  model?: string;
  usage?: { promptTokens: number; completionTokens: number };
}

export interface FakeChatBody {
  model: string;
  messages: Array<{ role: string; content?: unknown; tool_calls?: unknown[]; tool_call_id?: string }>;
  tools?: unknown[];
  response_format?: { type: string; json_schema?: { name: string; schema?: unknown; strict?: boolean } };
  temperature?: number;
  [key: string]: unknown;
}

export interface FakeLlmRequest {
  /** Date.now() when the request arrived. */
  at: number;
  path: string;
  headers: IncomingHttpHeaders;
  body: FakeChatBody;
}

export interface FakeLlm {
  /** Ends in `/v1`, ready to be an LLM_BASE_URL. */
  baseUrl: string;
  requests: FakeLlmRequest[];
  script(...replies: FakeLlmReply[]): void;
  close(): Promise<void>;
}

export interface FakeLlmOptions {
  /** When set, requests must carry `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /**
   * Answers requests when nothing is scripted (benchmarks use a fixed policy instead of a script); the headers tell
   * callers apart (each with its own API key, say).
   */
  respond?: (body: FakeChatBody, headers: IncomingHttpHeaders) => FakeLlmReply;
  /** Keep every request for assertions (default); benchmarks turn it off to keep memory flat. */
  record?: boolean;
}

export async function startFakeLlm(options: FakeLlmOptions = {}): Promise<FakeLlm> {
  const queue: FakeLlmReply[] = [];
  const requests: FakeLlmRequest[] = [];
  let completions = 0;

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    if (req.method !== 'POST' || !path.endsWith('/chat/completions')) {
      return sendError(res, 404, { message: `no route for ${req.method} ${path}`, type: 'invalid_request_error' });
    }
    let body: FakeChatBody;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as FakeChatBody;
    } catch {
      return sendError(res, 400, { message: 'request body is not JSON', type: 'invalid_request_error' });
    }
    if (options.record !== false) requests.push({ at: Date.now(), path, headers: req.headers, body });

    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      // Echoes the presented key in full, as some vendors do, so tests prove the client never repeats it.
      const presented = req.headers.authorization?.replace(/^Bearer /, '') ?? '';
      return sendError(res, 401, {
        message: `Incorrect API key provided: ${presented}.`,
        type: 'invalid_request_error',
        code: 'invalid_api_key',
      });
    }
    if (body.stream === true) {
      return sendError(res, 400, { message: 'the fake does not stream', type: 'invalid_request_error' });
    }

    const reply = queue.shift() ?? options.respond?.(body, req.headers) ?? { text: lastUserText(body) };
    if (reply.delayMs) await sleep(reply.delayMs);
    if (reply.until) await reply.until;
    if (res.destroyed) return;
    if (reply.status !== undefined && reply.status >= 400) {
      return send(
        res,
        reply.status,
        reply.body ?? { error: { type: 'api_error', param: null, code: null, ...reply.error } },
        reply.headers,
      );
    }
    completions += 1;
    if (reply.breakMidBody) return sendHalf(res, completion(body, reply, completions), reply.breakMidBody);
    send(res, 200, completion(body, reply, completions), reply.headers);
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    script: (...replies) => {
      queue.push(...replies);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

function completion(body: FakeChatBody, reply: FakeLlmReply, sequence: number) {
  const content = reply.json !== undefined ? JSON.stringify(reply.json) : (reply.text ?? null);
  const toolCalls = reply.toolCalls?.map((call, index) => ({
    id: call.id ?? `call_${sequence}_${index}`,
    type: 'function',
    function: {
      name: call.name,
      arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
    },
  }));
  const promptTokens = reply.usage?.promptTokens ?? Math.ceil(JSON.stringify(body.messages).length / 4);
  const completionTokens = reply.usage?.completionTokens ?? Math.ceil(((content ?? '').length + 1) / 4);
  return {
    id: `chatcmpl-fake-${sequence}`,
    object: 'chat.completion',
    created: 1_700_000_000 + sequence,
    model: reply.model ?? body.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, refusal: null, ...(toolCalls ? { tool_calls: toolCalls } : {}) },
        logprobs: null,
        finish_reason: toolCalls ? 'tool_calls' : 'stop',
      },
    ],
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    },
  };
}

function lastUserText(body: FakeChatBody): string {
  const user = [...(body.messages ?? [])].reverse().find((message) => message.role === 'user');
  if (typeof user?.content === 'string') return user.content;
  if (Array.isArray(user?.content)) {
    return user.content.map((part: { text?: unknown }) => (typeof part.text === 'string' ? part.text : '')).join('');
  }
  return '';
}

function sendError(res: ServerResponse, status: number, error: { message: string; type: string; code?: string }) {
  send(res, status, { error: { param: null, code: null, ...error } });
}

/** Writes half of a 200 answer and destroys the socket, leaving the client with a body that never ends. */
function sendHalf(res: ServerResponse, payload: unknown, framing: 'content-length' | 'chunked') {
  const text = JSON.stringify(payload);
  res.writeHead(200, {
    'content-type': 'application/json',
    ...(framing === 'content-length' ? { 'content-length': Buffer.byteLength(text) } : {}),
  });
  res.write(text.slice(0, Math.floor(text.length / 2)), () => {
    setTimeout(() => res.destroy(), 20);
  });
}

function send(res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(payload);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
