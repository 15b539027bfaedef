import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeLlm, startFakeLlm } from '../test/fakes/openai-compatible.js';
import { createLlmClient } from './client.js';
import { classifyIntentWithLlm, parseIntent } from './intent.js';
import type { LlmClient } from './types.js';

let fake: FakeLlm;
let client: () => LlmClient;

beforeAll(async () => {
  fake = await startFakeLlm();
  client = () => createLlmClient({ name: 'vllm', baseUrl: fake.baseUrl, model: 'm', remote: false, timeoutMs: 5000 });
});

afterAll(async () => {
  await fake.close();
});

describe('classifyIntentWithLlm', () => {
  it('asks for a strict json_schema answer and returns the validated result', async () => {
    fake.script({ json: { intent: 'question', confidence: 0.92, reason: 'asks about the weather' } });
    const result = await classifyIntentWithLlm(client(), 'What is the weather in Hangzhou?');

    expect(result).toEqual({ intent: 'question', confidence: 0.92, reason: 'asks about the weather' });
    const body = fake.requests.at(-1)!.body;
    expect(body.response_format?.type).toBe('json_schema');
    expect(body.response_format?.json_schema).toMatchObject({ name: 'intent', strict: true });
    expect(body.temperature).toBe(0);
    expect(body.messages.at(-1)).toEqual({ role: 'user', content: 'What is the weather in Hangzhou?' });
  });

  it('falls back to json_object with the schema in the prompt when the vendor rejects json_schema', async () => {
    const shared = client();
    const before = fake.requests.length;
    fake.script(
      { status: 400, error: { message: 'response_format json_schema is unavailable', code: 'invalid_parameter' } },
      { text: '```json\n{"intent":"task","confidence":0.8,"reason":"wants a lookup"}\n```' },
    );
    expect(await classifyIntentWithLlm(shared, 'look up my order')).toEqual({
      intent: 'task',
      confidence: 0.8,
      reason: 'wants a lookup',
    });
    const fallback = fake.requests[before + 1]!.body;
    expect(fallback.response_format).toEqual({ type: 'json_object' });
    expect(String(fallback.messages[0]!.content)).toContain('"additionalProperties":false');

    // The refusal is remembered: the next classification makes one request, not two.
    fake.script({ json: { intent: 'smalltalk', confidence: 0.99, reason: 'greeting' } });
    await classifyIntentWithLlm(shared, 'hello');
    expect(fake.requests.length).toBe(before + 3);
    expect(fake.requests.at(-1)!.body.response_format).toEqual({ type: 'json_object' });
  });

  it('lets retryable failures through for the activity retry policy', async () => {
    fake.script({ status: 503, error: { message: 'overloaded' } });
    await expect(classifyIntentWithLlm(client(), 'hi')).rejects.toMatchObject({ retryable: true, status: 503 });
  });

  it('treats an unparseable answer as low-confidence chat', async () => {
    fake.script({ text: 'I think this is a question.' });
    expect(await classifyIntentWithLlm(client(), 'hmm')).toEqual({
      intent: 'chat',
      confidence: 0,
      reason: 'unparseable',
    });
  });
});

describe('parseIntent', () => {
  it('normalizes the case of the intent', () => {
    expect(parseIntent('{"intent":"Reminder","confidence":1,"reason":"r"}').intent).toBe('reminder');
  });

  it.each([
    ['not json', '{intent: chat}'],
    ['an unknown intent', '{"intent":"weather","confidence":0.5,"reason":"r"}'],
    ['a confidence above 1', '{"intent":"chat","confidence":85,"reason":"r"}'],
    ['a missing reason', '{"intent":"chat","confidence":0.5}'],
    ['no object at all', 'chat'],
  ])('rejects %s as unparseable', (_, content) => {
    expect(parseIntent(content)).toEqual({ intent: 'chat', confidence: 0, reason: 'unparseable' });
  });
});
