import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  appendAssistantTurn,
  appendToolResult,
  buildInitialMessages,
  countToolSteps,
  MAX_TOOL_RESULT_BYTES,
  nextLoopAction,
} from './tool-loop.js';
import type { ChatMessage } from './types.js';

const call = (id: string) => ({ id, name: 'calculator', arguments: '{"expression":"1+1"}' });

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

describe('buildInitialMessages', () => {
  it('puts the system prompt first, then history, then the new user text', () => {
    const history: ChatMessage[] = [
      { role: 'user', content: 'earlier' },
      { role: 'assistant', content: 'reply' },
    ];
    expect(buildInitialMessages('be brief', history, 'now')).toEqual([
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'earlier' },
      { role: 'assistant', content: 'reply' },
      { role: 'user', content: 'now' },
    ]);
  });

  it('drops system messages from history so only the current prompt applies', () => {
    const messages = buildInitialMessages('new', [{ role: 'system', content: 'old' }], 'hi');
    expect(messages.filter((message) => message.role === 'system')).toEqual([{ role: 'system', content: 'new' }]);
  });
});

describe('appendAssistantTurn and appendToolResult', () => {
  it('return new arrays and leave the input untouched', () => {
    const start = buildInitialMessages('s', [], 'u');
    const withAssistant = appendAssistantTurn(start, { content: '', toolCalls: [call('c1')] });
    const withResult = appendToolResult(withAssistant, 'c1', 'calculator', { result: 2 });

    expect(start).toHaveLength(2);
    expect(withAssistant).toHaveLength(3);
    expect(withAssistant[2]).toEqual({ role: 'assistant', content: '', toolCalls: [call('c1')] });
    expect(withResult[3]).toEqual({ role: 'tool', toolCallId: 'c1', name: 'calculator', content: '{"result":2}' });
  });

  it('omits toolCalls from a plain text turn', () => {
    expect(appendAssistantTurn([], { content: 'done', toolCalls: [] })).toEqual([
      { role: 'assistant', content: 'done' },
    ]);
  });

  it('serializes strings, undefined and unserializable values as JSON', () => {
    const content = (result: unknown) => (appendToolResult([], 'c', 't', result)[0] as { content: string }).content;
    expect(content('plain')).toBe('"plain"');
    expect(content(undefined)).toBe('null');
    expect(content(10n)).toBe('"10"');
  });

  it('truncates large results to 8 KB with a marker, counting UTF-8 bytes', () => {
    const result = { text: '汉'.repeat(10_000) };
    const message = appendToolResult([], 'c', 't', result)[0] as { content: string };
    expect(utf8Bytes(message.content)).toBeLessThanOrEqual(MAX_TOOL_RESULT_BYTES);
    expect(utf8Bytes(message.content)).toBeGreaterThan(MAX_TOOL_RESULT_BYTES - 100);
    expect(message.content).toMatch(/…\[truncated \d+ of 30011 bytes\]$/);
    expect(message.content.startsWith('{"text":"汉汉')).toBe(true);
  });

  it('keeps a result of exactly 8 KB intact', () => {
    const text = 'a'.repeat(MAX_TOOL_RESULT_BYTES - 2);
    expect((appendToolResult([], 'c', 't', text)[0] as { content: string }).content).toBe(JSON.stringify(text));
  });
});

describe('nextLoopAction', () => {
  const base = buildInitialMessages('s', [], 'u');

  it('finishes with the text of a turn without tool calls', () => {
    const messages = appendAssistantTurn(base, { content: 'the answer', toolCalls: [] });
    expect(nextLoopAction({ messages }, 3)).toEqual({ kind: 'final', text: 'the answer' });
  });

  it('asks for the tool calls of the latest turn', () => {
    const messages = appendAssistantTurn(base, { content: '', toolCalls: [call('a'), call('b')] });
    expect(nextLoopAction({ messages }, 3)).toEqual({ kind: 'call_tools', calls: [call('a'), call('b')] });
  });

  it('allows exactly maxSteps tool-calling turns, then stops', () => {
    let messages = base;
    const actions: string[] = [];
    for (let step = 1; step <= 3; step += 1) {
      messages = appendAssistantTurn(messages, { content: '', toolCalls: [call(`c${step}`)] });
      const action = nextLoopAction({ messages }, 2);
      actions.push(action.kind);
      if (action.kind === 'call_tools') messages = appendToolResult(messages, `c${step}`, 'calculator', 2);
    }
    expect(actions).toEqual(['call_tools', 'call_tools', 'step_limit']);
    const limit = nextLoopAction({ messages }, 2);
    expect(limit.kind === 'step_limit' && limit.text).toContain('2 tool steps');
  });

  it('uses what the model said as the step-limit text when it said something', () => {
    let messages = appendAssistantTurn(base, { content: '', toolCalls: [call('a')] });
    messages = appendToolResult(messages, 'a', 'calculator', 2);
    messages = appendAssistantTurn(messages, { content: 'partial answer', toolCalls: [call('b')] });
    expect(nextLoopAction({ messages }, 1)).toEqual({ kind: 'step_limit', text: 'partial answer' });
  });

  it('counts steps only since the latest user message', () => {
    const earlier = appendAssistantTurn(base, { content: '', toolCalls: [call('old')] });
    const messages = appendAssistantTurn([...earlier, { role: 'user', content: 'again' }], {
      content: '',
      toolCalls: [call('new')],
    });
    expect(countToolSteps(messages)).toBe(1);
    expect(nextLoopAction({ messages }, 1).kind).toBe('call_tools');
  });

  it('rejects a state whose latest message is not an assistant turn', () => {
    expect(() => nextLoopAction({ messages: base }, 3)).toThrow(/assistant/);
  });
});

describe('workflow safety', () => {
  it('imports nothing but types', () => {
    const source = readFileSync(new URL('./tool-loop.ts', import.meta.url), 'utf8');
    const imports = source.split('\n').filter((line) => /^\s*import\b/.test(line));
    expect(imports.length).toBeGreaterThan(0);
    for (const line of imports) expect(line).toMatch(/^import type /);
    expect(source).not.toMatch(/Date\.now|Math\.random|process\./);
  });
});
