import { describe, expect, it } from 'vitest';
import { withPiiMasking } from './pii-masking-client.js';
import type { ChatRequest, ChatResult, LlmClient } from './types.js';

/** A recording model that answers with whatever the test scripts, so we see exactly what left the process. */
function recordingModel(answer: (request: ChatRequest) => ChatResult['message']) {
  const seen: ChatRequest[] = [];
  const client: LlmClient = {
    provider: 'test',
    model: 'm',
    async chat(request) {
      seen.push(request);
      return { message: answer(request), usage: { promptTokens: 1, completionTokens: 1 }, model: 'm', latencyMs: 0 };
    },
  };
  return { client, seen };
}

const userText = 'Call me on 13812345678 or mail ann@example.com; my ID is 11010519491231002X.';

describe('withPiiMasking', () => {
  it('sends placeholders, never the personal data, to the model', async () => {
    const { client, seen } = recordingModel(() => ({ content: 'ok', toolCalls: [] }));
    await withPiiMasking(client, { reversible: false }).chat({ messages: [{ role: 'user', content: userText }] });
    const sent = JSON.stringify(seen[0]);
    expect(sent).not.toContain('13812345678');
    expect(sent).not.toContain('ann@example.com');
    expect(sent).not.toContain('11010519491231002X');
    expect(sent).toContain('[PHONE_1]');
  });

  it('restores placeholders in the answer and tool arguments when reversible', async () => {
    const { client } = recordingModel(() => ({
      content: 'I will call [PHONE_1].',
      toolCalls: [{ id: 'c', name: 'sms', arguments: '{"to":"[PHONE_1]"}' }],
    }));
    const result = await withPiiMasking(client, { reversible: true }).chat({
      messages: [{ role: 'user', content: userText }],
    });
    expect(result.message.content).toBe('I will call 13812345678.');
    expect(result.message.toolCalls[0]!.arguments).toBe('{"to":"13812345678"}');
  });

  it('restores tool arguments even when irreversible, so a tool gets the address the sender gave', async () => {
    const { client, seen } = recordingModel(() => ({
      content: 'Fetching [IP_1].',
      toolCalls: [{ id: 'c', name: 'http_get', arguments: '{"url":"http://[IP_1]:8080/status"}' }],
    }));
    const result = await withPiiMasking(client, { reversible: false }).chat({
      messages: [{ role: 'user', content: 'Is http://10.1.2.3:8080/status up?' }],
    });
    expect(JSON.stringify(seen[0])).not.toContain('10.1.2.3');
    expect(result.message.toolCalls[0]!.arguments).toBe('{"url":"http://10.1.2.3:8080/status"}');
    expect(result.message.content).toBe('Fetching [IP_1].');
  });

  it('keeps placeholders in the answer when irreversible', async () => {
    const { client } = recordingModel(() => ({ content: 'I will call [PHONE_1].', toolCalls: [] }));
    const result = await withPiiMasking(client, { reversible: false }).chat({
      messages: [{ role: 'user', content: userText }],
    });
    expect(result.message.content).toBe('I will call [PHONE_1].');
  });

  it('gives the same value the same placeholder across the conversation', async () => {
    const { client, seen } = recordingModel(() => ({ content: '', toolCalls: [] }));
    await withPiiMasking(client, { reversible: true }).chat({
      messages: [
        { role: 'user', content: 'my number is 13812345678' },
        { role: 'assistant', content: 'noted 13812345678' },
        { role: 'user', content: 'and 13987654321 too' },
      ],
    });
    const contents = seen[0]!.messages.map((message) => message.content);
    expect(contents).toEqual(['my number is [PHONE_1]', 'noted [PHONE_1]', 'and [PHONE_2] too']);
  });
});
