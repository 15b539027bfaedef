// The HTTP tools. The ToolDefinition's `sensitive` flag is per tool, not per call, so reading and acting are
// two tools: http_get (GET only, runs at once) and http_request (any method, needs approval). Both share the
// allowlist, the SSRF guard, the header policy, the timeout and the response size cap.
import { z } from 'zod';
import { UpstreamError } from '../../../core/errors.js';
import type { Resolver } from '../../../security/address-guard.js';
import type { ToolDefinition } from '../../types.js';
import { checkHeaders } from './headers.js';
import { type HttpResult, isIdempotent, sendRequest } from './send-request.js';

export interface HttpToolOptions {
  /** Host names allowed, exact (`api.example.com`) or a subdomain wildcard (`*.example.com`). */
  allowedHosts: string[];
  /** Longest response body handed to the model; the rest is cut off with a marker. Default 64 KiB. */
  maxResponseBytes?: number;
  /** Longest a call may take, redirects included; a call may ask for less. Default 10 s. */
  timeoutMs?: number;
  maxRedirects?: number;
  /** Protected headers (host, authorization, proxy-authorization, cookie) the model may set anyway. */
  headerOverrides?: string[];
  resolve?: Resolver;
}

/** The registry's (and the activity's) timeout leaves the tool's own a moment to fire first. */
const TIMEOUT_GRACE_MS = 1_000;

const url = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });
const headers = z.record(z.string(), z.string().max(8_192)).optional();
const timeoutField = z.number().int().positive().optional();

const getSchema = z.object({ url, headers, timeout_ms: timeoutField }).strict();
const requestSchema = z
  .object({
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
    url,
    headers,
    json: z.unknown().optional(),
    body: z.string().max(1_000_000).optional(),
    timeout_ms: timeoutField,
  })
  .strict()
  .refine((input) => input.json === undefined || input.body === undefined, {
    message: 'give either json or body, not both',
  })
  .refine((input) => input.method !== 'GET' || (input.json === undefined && input.body === undefined), {
    message: 'a GET request has no body',
  });

const headersParameter = {
  type: 'object',
  additionalProperties: { type: 'string' },
  description: 'Extra request headers, e.g. {"accept": "application/json"}',
};
const timeoutParameter = { type: 'integer', description: 'Give up after this many milliseconds (optional)' };

export function createHttpGetTool(options: HttpToolOptions): ToolDefinition<z.infer<typeof getSchema>> {
  const settings = resolveOptions(options);
  return {
    name: 'http_get',
    description: `Fetches a web page or API response with HTTP GET and returns its status and up to ${settings.maxResponseBytes} bytes of text. Allowed hosts: ${settings.described}.`,
    parameters: {
      type: 'object',
      properties: {
        url: { type: 'string', description: 'The absolute http(s) URL to fetch' },
        headers: headersParameter,
        timeout_ms: timeoutParameter,
      },
      required: ['url'],
      additionalProperties: false,
    },
    inputSchema: getSchema,
    sensitive: false,
    timeoutMs: settings.timeoutMs + TIMEOUT_GRACE_MS,
    run: (input, ctx) =>
      send('http_get', settings, { method: 'GET', url: input.url, headers: input.headers }, input.timeout_ms, ctx),
  };
}

export function createHttpRequestTool(options: HttpToolOptions): ToolDefinition<z.infer<typeof requestSchema>> {
  const settings = resolveOptions(options);
  return {
    name: 'http_request',
    description: `Sends an HTTP request (GET, POST, PUT, PATCH or DELETE) with optional headers and a JSON or text body, and returns the status and up to ${settings.maxResponseBytes} bytes of the response. Each call needs a person's approval; use http_get to only read. Allowed hosts: ${settings.described}.`,
    parameters: {
      type: 'object',
      properties: {
        method: { type: 'string', enum: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] },
        url: { type: 'string', description: 'The absolute http(s) URL' },
        headers: headersParameter,
        json: { description: 'A JSON body (sent as application/json)' },
        body: { type: 'string', description: 'A text body (sent as text/plain unless a content-type header is given)' },
        timeout_ms: timeoutParameter,
      },
      required: ['method', 'url'],
      additionalProperties: false,
    },
    inputSchema: requestSchema,
    sensitive: true,
    timeoutMs: settings.timeoutMs + TIMEOUT_GRACE_MS,
    run: (input, ctx) => send('http_request', settings, input, input.timeout_ms, ctx),
  };
}

type Settings = ReturnType<typeof resolveOptions>;

function resolveOptions(options: HttpToolOptions) {
  const allowedHosts = options.allowedHosts.map((host) => host.trim().toLowerCase()).filter(Boolean);
  return {
    allowedHosts,
    described: allowedHosts.length > 0 ? allowedHosts.join(', ') : 'none configured',
    maxResponseBytes: options.maxResponseBytes ?? 64 * 1024,
    timeoutMs: options.timeoutMs ?? 10_000,
    maxRedirects: options.maxRedirects ?? 3,
    headerOverrides: new Set((options.headerOverrides ?? []).map((name) => name.trim().toLowerCase())),
    resolve: options.resolve,
  };
}

async function send(
  toolName: string,
  settings: Settings,
  input: { method: string; url: string; headers?: Record<string, string>; json?: unknown; body?: string },
  timeoutMs: number | undefined,
  ctx: { signal?: AbortSignal },
): Promise<HttpResult> {
  const headers = checkHeaders(toolName, input.headers ?? {}, settings.headerOverrides);
  let body: Buffer | undefined;
  const hasType = Object.keys(headers).some((name) => name.toLowerCase() === 'content-type');
  if (input.json !== undefined) {
    body = Buffer.from(JSON.stringify(input.json));
    if (!hasType) headers['content-type'] = 'application/json';
  } else if (input.body !== undefined) {
    body = Buffer.from(input.body);
    if (!hasType) headers['content-type'] = 'text/plain; charset=utf-8';
  }
  // Always our own timeout, inside the registry's: it knows whether the method may be retried.
  timeoutMs = Math.min(timeoutMs ?? settings.timeoutMs, settings.timeoutMs);
  const ownTimeout = AbortSignal.timeout(timeoutMs);
  const signals = ctx.signal ? [ctx.signal, ownTimeout] : [ownTimeout];
  try {
    return await sendRequest(
      { method: input.method, url: new URL(input.url), headers, body },
      { ...settings, toolName },
      AbortSignal.any(signals),
    );
  } catch (error) {
    if (ownTimeout.aborted && !ctx.signal?.aborted) {
      throw new UpstreamError(`${toolName} ${input.url} timed out after ${timeoutMs} ms`, {
        retryable: isIdempotent(input.method),
      });
    }
    throw error;
  }
}
