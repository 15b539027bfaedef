// What the tools may reach: the HTTP tools' host allowlist and limits (TOOLS_HTTP_*) and the MCP servers to
// connect to (MCP_SERVERS; MCP_CONFIG_FILE is read when the worker starts, by tools/load.ts).
import { z } from 'zod';
import { csv, optionalString, parseVariables, positiveInt, type Variables } from '../core/settings.js';
import { PROTECTED_HEADERS } from './builtin/http/headers.js';
import { type McpServerConfig, parseMcpServers } from './mcp/server-config.js';

const toolVariables = z.object({
  TOOLS_HTTP_ALLOWED_HOSTS: csv,
  TOOLS_HTTP_MAX_RESPONSE_BYTES: positiveInt(64 * 1024, 'a positive number of bytes'),
  TOOLS_HTTP_TIMEOUT_MS: positiveInt(10_000, 'a timeout in milliseconds'),
  TOOLS_HTTP_HEADER_OVERRIDES: csv.superRefine((names, ctx) => {
    const bad = names.find((name) => !PROTECTED_HEADERS.includes(name.toLowerCase()));
    if (bad !== undefined) {
      ctx.addIssue({ code: 'custom', message: `${bad} is not one of ${PROTECTED_HEADERS.join(', ')}` });
    }
  }),
  MCP_SERVERS: optionalString
    .superRefine((value, ctx) => {
      if (value === undefined) return;
      try {
        parseMcpServers(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    })
    .transform((value) => (value === undefined ? [] : parseMcpServers(value))),
  MCP_CONFIG_FILE: optionalString,
});

export interface ToolSettings {
  httpAllowedHosts: string[];
  httpMaxResponseBytes: number;
  httpTimeoutMs: number;
  /** Protected headers (authorization, host, …) the model may set in HTTP tool calls. */
  httpHeaderOverrides: string[];
  /** MCP servers from MCP_SERVERS; MCP_CONFIG_FILE is read (and its servers added) when the worker starts. */
  mcpServers: McpServerConfig[];
  mcpConfigFile?: string;
}

export function parseToolSettings(source: Variables): ToolSettings {
  const env = parseVariables(toolVariables, source);
  return {
    httpAllowedHosts: env.TOOLS_HTTP_ALLOWED_HOSTS,
    httpMaxResponseBytes: env.TOOLS_HTTP_MAX_RESPONSE_BYTES,
    httpTimeoutMs: env.TOOLS_HTTP_TIMEOUT_MS,
    httpHeaderOverrides: env.TOOLS_HTTP_HEADER_OVERRIDES.map((name) => name.toLowerCase()),
    mcpServers: env.MCP_SERVERS,
    mcpConfigFile: env.MCP_CONFIG_FILE,
  };
}
