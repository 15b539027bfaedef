import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeLlm, startFakeLlm } from '../test/fakes/openai-compatible.js';
import { createLlmClient } from './client.js';
import { LlmRequestError, MAX_RETRY_AFTER_MS, parseRetryAfter } from './errors.js';
import type { ResolvedProvider } from './presets.js';

const API_KEY = 'sk-test-4f9a2c7e1b3d';

let fake: FakeLlm;
let provider: ResolvedProvider;

beforeAll(async () => {
  fake = await startFakeLlm({ apiKey: API_KEY });
  provider = {
    name: 'deepseek',
    baseUrl: fake.baseUrl,
    apiKey: API_KEY,
    model: 'deepseek-chat',
    remote: true,
    timeoutMs: 5000,
  };
});

afterAll(async () => {
  await fake.close();
});

async function failure(promise: Promise<unknown>): Promise<LlmRequestError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(LlmRequestError);
  return error as LlmRequestError;
}

describe('createLlmClient', () => {
  it('sends the model, messages and bearer key, and returns text with usage', async () => {
    const client = createLlmClient(provider);
    fake.script({ text: 'hello there', usage: { promptTokens: 12, completionTokens: 3 } });
    const result = await client.chat({ messages: [{ role: 'user', content: 'hi' }], temperature: 0.2 });

    expect(result.message).toEqual({ content: 'hello there', toolCalls: [] });
    expect(result.usage).toEqual({ promptTokens: 12, completionTokens: 3 });
    expect(result.model).toBe('deepseek-chat');
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    const request = fake.requests.at(-1)!;
    expect(request.path).toBe('/v1/chat/completions');
    expect(request.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request.body).toMatchObject({
      model: 'deepseek-chat',
      temperature: 0.2,
      messages: [{ role: 'user', content: 'hi' }],
    });
  });

  it('parses tool calls and sends tool specs and earlier tool turns in the vendor shape', async () => {
    const client = createLlmClient(provider);
    fake.script({ toolCalls: [{ id: 'call_a', name: 'calculator', arguments: { expression: '1+2' } }] });
    const tools = [
      {
        type: 'function' as const,
        function: { name: 'calculator', description: 'math', parameters: { type: 'object', properties: {} } },
      },
    ];
    const result = await client.chat({
      tools,
      messages: [
        { role: 'user', content: 'what is 1+2?' },
        { role: 'assistant', content: '', toolCalls: [{ id: 'call_0', name: 'echo', arguments: '{"text":"x"}' }] },
        { role: 'tool', toolCallId: 'call_0', name: 'echo', content: '{"text":"x"}' },
      ],
    });

    expect(result.message.toolCalls).toEqual([{ id: 'call_a', name: 'calculator', arguments: '{"expression":"1+2"}' }]);
    const body = fake.requests.at(-1)!.body;
    expect(body.tools).toEqual(tools);
    expect(body.messages[1]).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'call_0', type: 'function', function: { name: 'echo', arguments: '{"text":"x"}' } }],
    });
    expect(body.messages[2]).toEqual({ role: 'tool', tool_call_id: 'call_0', content: '{"text":"x"}' });
  });

  it('sends a json_schema response format in the vendor shape', async () => {
    const client = createLlmClient(provider);
    fake.script({ json: { ok: true } });
    const schema = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] };
    const result = await client.chat({
      messages: [{ role: 'user', content: 'x' }],
      responseFormat: { type: 'json_schema', name: 'answer', schema },
    });

    expect(JSON.parse(result.message.content)).toEqual({ ok: true });
    expect(fake.requests.at(-1)!.body.response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'answer', schema, strict: true },
    });
  });

  it('maps 429 to a retryable error naming provider, status and vendor code', async () => {
    const client = createLlmClient(provider);
    fake.script({
      status: 429,
      error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' },
    });
    const error = await failure(client.chat({ messages: [{ role: 'user', content: 'hi' }] }));

    expect(error.retryable).toBe(true);
    expect(error.status).toBe(429);
    expect(error.message).toContain('deepseek');
    expect(error.message).toContain('429');
    expect(error.message).toContain('rate_limit_exceeded');
  });

  it('reads how long the vendor asked to wait from Retry-After or retry-after-ms', async () => {
    const client = createLlmClient(provider);
    fake.script(
      { status: 429, error: { message: 'slow down' }, headers: { 'retry-after': '7' } },
      { status: 503, error: { message: 'busy' }, headers: { 'retry-after-ms': '1500' } },
      { status: 500, error: { message: 'no hint' } },
    );
    const ask = () => client.chat({ messages: [{ role: 'user', content: 'hi' }] });
    expect((await failure(ask())).retryAfterMs).toBe(7000);
    expect((await failure(ask())).retryAfterMs).toBe(1500);
    expect((await failure(ask())).retryAfterMs).toBeUndefined();
  });

  it('maps 500 to a retryable error and 400 to a non-retryable one', async () => {
    const client = createLlmClient(provider);
    fake.script(
      { status: 503, error: { message: 'overloaded' } },
      { status: 400, error: { message: 'bad param', type: 'invalid_request_error', code: 'invalid_value' } },
    );
    expect((await failure(client.chat({ messages: [{ role: 'user', content: 'a' }] }))).retryable).toBe(true);
    const badRequest = await failure(client.chat({ messages: [{ role: 'user', content: 'b' }] }));
    expect(badRequest.retryable).toBe(false);
    expect(badRequest.vendorCode).toBe('invalid_value');
  });

  it('maps 401 to a non-retryable error that never contains the key, even when the vendor echoes it', async () => {
    const wrongKey = 'sk-wrong-9c8b7a6f5e4d';
    const client = createLlmClient({ ...provider, apiKey: wrongKey });
    const error = await failure(client.chat({ messages: [{ role: 'user', content: 'hi' }] }));

    expect(fake.requests.at(-1)!.headers.authorization).toBe(`Bearer ${wrongKey}`);
    expect(error.retryable).toBe(false);
    expect(error.status).toBe(401);
    expect(error.message).toContain('invalid_api_key');
    expect(error.message).not.toContain(wrongKey);
    expect(error.message).not.toContain('9c8b7a6f5e4d');
    expect(JSON.stringify(error)).not.toContain(wrongKey);
  });

  it('does not retry by itself: one failing call is one request', async () => {
    const client = createLlmClient(provider);
    const before = fake.requests.length;
    fake.script({ status: 500, error: { message: 'boom' } });
    await failure(client.chat({ messages: [{ role: 'user', content: 'hi' }] }));
    expect(fake.requests.length).toBe(before + 1);
  });

  it('maps a timeout to a retryable error', async () => {
    const client = createLlmClient({ ...provider, timeoutMs: 50 });
    fake.script({ delayMs: 500, text: 'late' });
    const error = await failure(client.chat({ messages: [{ role: 'user', content: 'hi' }] }));
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('timed out');
  });

  it.each(['content-length', 'chunked'] as const)(
    'maps an answer whose connection breaks mid-body (%s) to a retryable error, never a truncated reply',
    async (framing) => {
      fake.script({ text: 'a long answer that never arrives whole', breakMidBody: framing });
      const error = await failure(createLlmClient(provider).chat({ messages: [{ role: 'user', content: 'hi' }] }));
      expect(error.retryable).toBe(true);
      expect(error.status).toBeUndefined();
      expect(error.message).toBe('deepseek: the answer broke off mid-body (connection closed)');
    },
  );

  it('maps a refused connection to a retryable error', async () => {
    const closed = await startFakeLlm();
    await closed.close();
    const client = createLlmClient({ ...provider, baseUrl: closed.baseUrl });
    const error = await failure(client.chat({ messages: [{ role: 'user', content: 'hi' }] }));
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('connection failed');
  });

  it('sends no Authorization header to a provider without a key', async () => {
    const open = await startFakeLlm();
    try {
      const client = createLlmClient({ ...provider, name: 'ollama', apiKey: undefined, baseUrl: open.baseUrl });
      const result = await client.chat({ messages: [{ role: 'user', content: 'echo me' }] });
      expect(result.message.content).toBe('echo me');
      expect(open.requests[0]!.headers.authorization).toBeUndefined();
    } finally {
      await open.close();
    }
  });

  it('uses an injected fetch', async () => {
    const seen: string[] = [];
    const client = createLlmClient(provider, {
      fetch: (input, init) => {
        seen.push(String(input));
        return fetch(input, init);
      },
    });
    await client.chat({ messages: [{ role: 'user', content: 'via fetch' }] });
    expect(seen).toEqual([`${fake.baseUrl}/chat/completions`]);
  });
});

describe('parseRetryAfter', () => {
  const headers = (entries: Record<string, string>) => new Headers(entries);
  it('reads seconds, milliseconds and HTTP dates, capped', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter(headers({ 'retry-after': '2' }), now)).toBe(2000);
    expect(parseRetryAfter(headers({ 'retry-after': '0.5' }), now)).toBe(500);
    expect(parseRetryAfter(headers({ 'retry-after-ms': '250', 'retry-after': '9' }), now)).toBe(250);
    expect(parseRetryAfter(headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:30 GMT' }), now)).toBe(30_000);
    expect(parseRetryAfter(headers({ 'retry-after': 'Tue, 31 Dec 2024 23:00:00 GMT' }), now)).toBe(0);
    expect(parseRetryAfter(headers({ 'retry-after': '86400' }), now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter(headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
