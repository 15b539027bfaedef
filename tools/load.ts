// Assembles every tool a worker offers: the built-ins (HTTP tools per the allowlist), the tools that need the
// database or Temporal (memory_search, schedule_reminder) and the MCP servers' tools, connected now and
// closed by close(). The worker's registry is built from this list.
import { readFile } from 'node:fs/promises';
import type { Client } from '@temporalio/client';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { ConfigError } from '../core/settings.js';
import type { Database } from '../db/client.js';
import { createBuiltinTools } from './builtin/index.js';
import { createMemorySearchTool } from './builtin/memory-search.js';
import { createScheduleReminderTool } from './builtin/schedule-reminder.js';
import { connectMcpServers } from './mcp/bridge.js';
import { type McpServerConfig, parseMcpServers } from './mcp/server-config.js';
import type { ToolSettings } from './settings.js';
import type { ToolDefinition } from './types.js';

export interface ToolDeps {
  /** The tools' own settings and the task queue reminders are scheduled on (a Config will do). */
  config: { tools: ToolSettings; temporal: { taskQueue: string } };
  db: Database;
  temporal: Client;
  metrics: Metrics;
  logger: Logger;
}

export interface LoadedTools {
  tools: ToolDefinition[];
  close(): Promise<void>;
}

export async function loadTools({ config, db, temporal, metrics, logger }: ToolDeps): Promise<LoadedTools> {
  const settings = config.tools;
  const servers = [...settings.mcpServers, ...(await readMcpConfigFile(settings.mcpConfigFile))];
  const mcp = await connectMcpServers(servers, logger);
  return {
    tools: [
      ...createBuiltinTools({
        httpAllowedHosts: settings.httpAllowedHosts,
        http: {
          maxResponseBytes: settings.httpMaxResponseBytes,
          timeoutMs: settings.httpTimeoutMs,
          headerOverrides: settings.httpHeaderOverrides,
        },
      }),
      createMemorySearchTool(db),
      createScheduleReminderTool({ db, metrics, temporal, taskQueue: config.temporal.taskQueue }),
      ...mcp.tools,
    ],
    close: () => mcp.close(),
  };
}

/** The MCP_CONFIG_FILE list, read at worker start; a missing or malformed file stops the start. */
export async function readMcpConfigFile(path: string | undefined): Promise<McpServerConfig[]> {
  if (!path) return [];
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError('MCP_CONFIG_FILE', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  try {
    return parseMcpServers(text);
  } catch (error) {
    throw new ConfigError('MCP_CONFIG_FILE', `${path}: ${(error as Error).message}`);
  }
}
