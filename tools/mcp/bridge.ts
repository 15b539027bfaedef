// The MCP bridge: connects to the configured MCP servers when the worker starts, lists their tools and wraps
// each as a ToolDefinition named `<server>__<tool>`, so every MCP call runs as one runTool activity with the
// registry's validation, timeout and approval policy. A server that cannot be reached is logged and skipped.

import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { BadRequestError, UpstreamError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { ToolDefinition } from '../types.js';
import { type McpConnection, openMcpConnection } from './connection.js';
import type { McpServerConfig } from './server-config.js';

export interface McpBridge {
  tools: ToolDefinition[];
  /** Servers connected, by name, with the tools each contributed. */
  servers: Record<string, string[]>;
  close(): Promise<void>;
}

/** The most text of one result handed to the model (and kept in workflow history). */
export const MAX_RESULT_CHARS = 64 * 1024;

// Loose on purpose: the server validates against its own JSON schema; we only require an arguments object.
const argumentsSchema = z.record(z.string(), z.unknown());

export async function connectMcpServers(servers: McpServerConfig[], logger: Logger): Promise<McpBridge> {
  const connections: McpConnection[] = [];
  const tools: ToolDefinition[] = [];
  const summary: Record<string, string[]> = {};
  const opened = await Promise.allSettled(servers.map((server) => openAndList(server, logger)));
  for (const [index, outcome] of opened.entries()) {
    const server = servers[index]!;
    if (outcome.status === 'rejected') {
      logger.error({ err: outcome.reason, mcpServer: server.name }, 'MCP server unavailable; its tools are left out');
      continue;
    }
    const { connection, listed } = outcome.value;
    connections.push(connection);
    const names = new Set<string>();
    for (const tool of listed) {
      const definition = toToolDefinition(connection, tool);
      if (names.has(definition.name)) {
        logger.warn({ mcpServer: server.name, tool: tool.name }, 'MCP tool name collides after shortening; skipped');
        continue;
      }
      names.add(definition.name);
      tools.push(definition);
    }
    summary[server.name] = [...names];
    logger.info({ mcpServer: server.name, tools: [...names] }, 'MCP server connected');
  }
  return {
    tools,
    servers: summary,
    async close() {
      await Promise.allSettled(connections.map((connection) => connection.close()));
    },
  };
}

async function openAndList(server: McpServerConfig, logger: Logger) {
  const connection = await openMcpConnection(server, logger);
  try {
    return { connection, listed: await connection.listTools() };
  } catch (error) {
    await connection.close().catch(() => undefined);
    throw error;
  }
}

/** `<server>__<tool>` within the function-calling name rule (letters, digits, `_`, `-`; at most 64). */
export function bridgedToolName(server: string, tool: string): string {
  return `${server}__${tool.replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 64);
}

export function toToolDefinition(connection: McpConnection, tool: Tool): ToolDefinition<Record<string, unknown>> {
  const { server } = connection;
  const name = bridgedToolName(server.name, tool.name);
  return {
    name,
    description: `${tool.description ?? tool.title ?? tool.name} (tool "${tool.name}" of MCP server ${server.name})`,
    parameters: { ...tool.inputSchema, type: 'object' },
    inputSchema: argumentsSchema,
    sensitive: server.sensitive,
    timeoutMs: server.timeoutMs,
    async run(input, ctx) {
      const client = await connection.client().catch((error: unknown) => {
        throw new UpstreamError(`MCP server ${server.name} is unreachable: ${messageOf(error)}`, {
          retryable: true,
          cause: error,
        });
      });
      let result: CallToolResult;
      try {
        result = (await client.callTool({ name: tool.name, arguments: input }, undefined, {
          signal: ctx.signal,
          timeout: server.timeoutMs,
        })) as CallToolResult;
      } catch (error) {
        if (ctx.signal?.aborted) throw error;
        throw callFailure(connection, client, name, error);
      }
      const converted = toResult(result);
      if (result.isError) {
        throw new UpstreamError(`${name} failed: ${converted.text || 'the tool reported an error'}`, {
          retryable: false,
        });
      }
      return converted;
    },
  };
}

function callFailure(
  connection: McpConnection,
  client: Parameters<McpConnection['reset']>[0],
  name: string,
  error: unknown,
) {
  if (error instanceof McpError) {
    if (error.code === ErrorCode.InvalidParams || error.code === ErrorCode.MethodNotFound) {
      return new BadRequestError(`${name}: ${error.message}`);
    }
    if (error.code === ErrorCode.ConnectionClosed) connection.reset(client);
    const transient = error.code === ErrorCode.ConnectionClosed || error.code === ErrorCode.RequestTimeout;
    return new UpstreamError(`${name}: ${error.message}`, { retryable: transient, cause: error });
  }
  // Anything else is the transport failing (a refused HTTP connection, a dead child): reconnect and retry.
  connection.reset(client);
  return new UpstreamError(`${name}: ${messageOf(error)}`, { retryable: true, cause: error });
}

/** Text parts joined, structured content kept, binary parts named but not inlined. */
export function toResult(result: CallToolResult): { text: string; structured?: unknown; omitted?: string[] } {
  const texts: string[] = [];
  const omitted: string[] = [];
  for (const part of result.content ?? []) {
    if (part.type === 'text') texts.push(part.text);
    else if (part.type === 'resource' && 'text' in part.resource) texts.push(String(part.resource.text));
    else omitted.push(part.type === 'resource_link' ? `resource ${part.uri}` : `${part.type} content`);
  }
  let text = texts.join('\n');
  if (text.length > MAX_RESULT_CHARS) text = `${text.slice(0, MAX_RESULT_CHARS)}\n[truncated: the result is longer]`;
  return {
    text,
    ...(result.structuredContent ? { structured: result.structuredContent } : {}),
    ...(omitted.length > 0 ? { omitted } : {}),
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
