// Looks tools up by name, validates the model's raw arguments and enforces each tool's timeout. Invalid calls
// become BadRequestErrors worded for the model, so the loop can hand them back and let it try again.
import { BadRequestError, ConduitError, UpstreamError } from '../core/errors.js';
import type { ToolSpec } from '../llm/types.js';
import type { ToolContext, ToolDefinition } from './types.js';

export interface ToolRegistry {
  /** The `tools` array for a chat-completions request. */
  list(): ToolSpec[];
  get(name: string): ToolDefinition | undefined;
  runTool(name: string, rawArgumentsJson: string, ctx?: ToolContext): Promise<unknown>;
}

export function createToolRegistry(tools: ToolDefinition[]): ToolRegistry {
  const byName = new Map<string, ToolDefinition>();
  for (const tool of tools) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(tool.name)) throw new Error(`invalid tool name "${tool.name}"`);
    if (byName.has(tool.name)) throw new Error(`duplicate tool name "${tool.name}"`);
    byName.set(tool.name, tool);
  }

  return {
    list: () =>
      [...byName.values()].map((tool) => ({
        type: 'function',
        function: { name: tool.name, description: tool.description, parameters: tool.parameters },
      })),
    get: (name) => byName.get(name),
    async runTool(name, rawArgumentsJson, ctx = {}) {
      const tool = byName.get(name);
      if (!tool) {
        throw new BadRequestError(`unknown tool "${name}"; available tools: ${[...byName.keys()].join(', ')}`);
      }
      const input = parseArguments(tool, rawArgumentsJson);
      return withTimeout(tool, input, ctx);
    },
  };
}

function parseArguments(tool: ToolDefinition, raw: string): unknown {
  let json: unknown;
  try {
    // Some models send an empty string for a call without arguments.
    json = raw.trim() === '' ? {} : JSON.parse(raw);
  } catch {
    throw new BadRequestError(`arguments for tool "${tool.name}" are not valid JSON: ${raw.slice(0, 200)}`);
  }
  const parsed = tool.inputSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'arguments'}: ${issue.message}`)
      .join('; ');
    throw new BadRequestError(`invalid arguments for tool "${tool.name}": ${problems}`);
  }
  return parsed.data;
}

async function withTimeout(tool: ToolDefinition, input: unknown, ctx: ToolContext): Promise<unknown> {
  const timeout = new AbortController();
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, timeout.signal]) : timeout.signal;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Reject before aborting, so the race settles on the timeout and not on the tool's reaction to the abort.
      reject(new UpstreamError(`tool "${tool.name}" timed out after ${tool.timeoutMs} ms`, { retryable: true }));
      timeout.abort();
    }, tool.timeoutMs);
  });
  try {
    return await Promise.race([tool.run(input, { ...ctx, signal }), expired]);
  } catch (error) {
    if (error instanceof ConduitError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new UpstreamError(`tool "${tool.name}" failed: ${message}`, { retryable: false, cause: error });
  } finally {
    clearTimeout(timer);
  }
}
