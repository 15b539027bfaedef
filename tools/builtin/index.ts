// The built-in tools that need no service, assembled from operator settings (the HTTP allowlist and limits)
// into one list for the registry. Tools that need the database or Temporal are added by tools/load.ts.
import type { ToolDefinition } from '../types.js';
import { calculatorTool } from './calculator.js';
import { createCurrentTimeTool } from './current-time.js';
import { echoTool } from './echo.js';
import { createHttpGetTool, createHttpRequestTool, type HttpToolOptions } from './http/tools.js';

export interface BuiltinToolOptions {
  /** Hosts the HTTP tools may reach; without any, http_get and http_request are left out. */
  httpAllowedHosts?: string[];
  http?: Omit<HttpToolOptions, 'allowedHosts'>;
  now?: () => Date;
}

export function createBuiltinTools(options: BuiltinToolOptions = {}): ToolDefinition[] {
  const tools: ToolDefinition[] = [createCurrentTimeTool({ now: options.now }), calculatorTool, echoTool];
  if (options.httpAllowedHosts && options.httpAllowedHosts.length > 0) {
    const http = { ...options.http, allowedHosts: options.httpAllowedHosts };
    tools.push(createHttpGetTool(http), createHttpRequestTool(http));
  }
  return tools;
}
