// The built-in tools, assembled from operator settings (the http_get allowlist) into one list for the registry.
import type { ToolDefinition } from '../types.js';
import { calculatorTool } from './calculator.js';
import { createCurrentTimeTool } from './current-time.js';
import { echoTool } from './echo.js';
import { createHttpGetTool, type HttpGetOptions } from './http-get.js';

export interface BuiltinToolOptions {
  /** Hosts http_get may fetch from; without any, http_get is left out. */
  httpAllowedHosts?: string[];
  fetch?: HttpGetOptions['fetch'];
  now?: () => Date;
}

export function createBuiltinTools(options: BuiltinToolOptions = {}): ToolDefinition[] {
  const tools: ToolDefinition[] = [createCurrentTimeTool({ now: options.now }), calculatorTool, echoTool];
  if (options.httpAllowedHosts && options.httpAllowedHosts.length > 0) {
    tools.push(createHttpGetTool({ allowedHosts: options.httpAllowedHosts, fetch: options.fetch }));
  }
  return tools;
}
