import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BadRequestError, UpstreamError } from '../core/errors.js';
import { echoTool } from './builtin/echo.js';
import { createToolRegistry } from './registry.js';
import type { ToolContext, ToolDefinition } from './types.js';

const aborted: boolean[] = [];

const hangingTool: ToolDefinition<Record<string, never>> = {
  name: 'hang',
  description: 'never finishes unless aborted',
  parameters: { type: 'object', properties: {} },
  inputSchema: z.object({}).strict(),
  sensitive: false,
  timeoutMs: 30,
  run: (_input, ctx) =>
    new Promise((_, reject) =>
      ctx.signal?.addEventListener('abort', () => {
        aborted.push(true);
        reject(new Error('aborted by signal'));
      }),
    ),
};

const addTool: ToolDefinition<{ a: number; b: number }> = {
  name: 'add',
  description: 'adds two numbers',
  parameters: {
    type: 'object',
    properties: { a: { type: 'number' }, b: { type: 'number' } },
    required: ['a', 'b'],
  },
  inputSchema: z.object({ a: z.number(), b: z.number() }),
  sensitive: true,
  timeoutMs: 1000,
  run: async ({ a, b }) => a + b,
};

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('createToolRegistry', () => {
  const registry = createToolRegistry([echoTool, addTool, hangingTool]);

  it('lists tools in the OpenAI function-calling shape', () => {
    expect(registry.list()[1]).toEqual({
      type: 'function',
      function: { name: 'add', description: 'adds two numbers', parameters: addTool.parameters },
    });
    expect(registry.list().map((spec) => spec.function.name)).toEqual(['echo', 'add', 'hang']);
  });

  it('gets a tool by name, with its policy fields', () => {
    expect(registry.get('add')).toMatchObject({ sensitive: true, timeoutMs: 1000 });
    expect(registry.get('missing')).toBeUndefined();
  });

  it('runs a tool with validated arguments and hands it the context', async () => {
    let seen: ToolContext | undefined;
    const spy = createToolRegistry([
      {
        ...echoTool,
        run: async (input: { text: string }, ctx: ToolContext) => {
          seen = ctx;
          return input;
        },
      },
    ]);
    expect(await spy.runTool('echo', '{"text":"hi"}', { runId: 'run-1' })).toEqual({ text: 'hi' });
    expect(seen?.runId).toBe('run-1');
    expect(seen?.signal).toBeInstanceOf(AbortSignal);
  });

  it('rejects arguments that fail the schema with a message naming the field', async () => {
    const error = await rejection(registry.runTool('add', '{"a":1,"b":"two"}'));
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).retryable).toBe(false);
    expect((error as Error).message).toMatch(/invalid arguments for tool "add": b: .*number/i);
  });

  it('rejects arguments that are not JSON', async () => {
    const error = await rejection(registry.runTool('add', '{a: 1'));
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toContain('not valid JSON');
  });

  it('treats empty arguments as an empty object', async () => {
    const error = await rejection(registry.runTool('echo', ''));
    expect((error as Error).message).toContain('text');
  });

  it('rejects an unknown tool and lists the available ones', async () => {
    const error = await rejection(registry.runTool('rm_rf', '{}'));
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toContain('echo, add, hang');
  });

  it('enforces the timeout and aborts the tool', async () => {
    const error = await rejection(registry.runTool('hang', '{}'));
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).retryable).toBe(true);
    expect((error as Error).message).toBe('tool "hang" timed out after 30 ms');
    expect(aborted).toEqual([true]);
  });

  it('passes an outer cancellation on to the tool', async () => {
    const controller = new AbortController();
    const slow = createToolRegistry([{ ...hangingTool, timeoutMs: 10_000 }]);
    const running = rejection(slow.runTool('hang', '{}', { signal: controller.signal }));
    controller.abort();
    expect(((await running) as Error).message).toContain('aborted by signal');
  });

  it('wraps an unexpected tool error as a non-retryable upstream error', async () => {
    const broken = createToolRegistry([
      {
        ...echoTool,
        run: async () => {
          throw new TypeError('x is undefined');
        },
      },
    ]);
    const error = await rejection(broken.runTool('echo', '{"text":"a"}'));
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).retryable).toBe(false);
    expect((error as Error).message).toBe('tool "echo" failed: x is undefined');
  });

  it('refuses duplicate and malformed tool names', () => {
    expect(() => createToolRegistry([echoTool, echoTool])).toThrow(/duplicate/);
    expect(() => createToolRegistry([{ ...echoTool, name: 'has space' }])).toThrow(/invalid tool name/);
  });
});
