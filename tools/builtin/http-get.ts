// Fetches a page for the model, only from hosts the operator allowed, following redirects by hand so a
// redirect cannot lead outside the allowlist. Returns the status and the first few KB of text.
import { z } from 'zod';
import { BadRequestError, UpstreamError } from '../../core/errors.js';
import type { ToolDefinition } from '../types.js';

export interface HttpGetOptions {
  /** Host names allowed, exact (`api.example.com`) or a subdomain wildcard (`*.example.com`). */
  allowedHosts: string[];
  fetch?: typeof fetch;
  maxBytes?: number;
  maxRedirects?: number;
  timeoutMs?: number;
}

export interface HttpGetResult {
  url: string;
  status: number;
  contentType: string;
  text: string;
  truncated: boolean;
}

const inputSchema = z.object({ url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }) });

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const TEXTUAL = /^(text\/|application\/(json|xml|javascript|xhtml\+xml|[\w.+-]+\+(json|xml)))/i;

export function createHttpGetTool(options: HttpGetOptions): ToolDefinition<z.infer<typeof inputSchema>> {
  const fetchImpl = options.fetch ?? fetch;
  const maxBytes = options.maxBytes ?? 4096;
  const maxRedirects = options.maxRedirects ?? 3;
  const allowed = options.allowedHosts.map((host) => host.trim().toLowerCase()).filter(Boolean);
  const described = allowed.length > 0 ? allowed.join(', ') : 'none configured';

  return {
    name: 'http_get',
    description: `Fetches a web page or API response with HTTP GET and returns its status and the first ${maxBytes} bytes of text. Allowed hosts: ${described}.`,
    parameters: {
      type: 'object',
      properties: { url: { type: 'string', description: 'The absolute http(s) URL to fetch' } },
      required: ['url'],
      additionalProperties: false,
    },
    inputSchema,
    sensitive: false,
    timeoutMs: options.timeoutMs ?? 10_000,
    async run(input, ctx): Promise<HttpGetResult> {
      let url = new URL(input.url);
      for (let redirects = 0; ; redirects += 1) {
        if (!isHostAllowed(url.hostname, allowed)) {
          throw new BadRequestError(`http_get may not fetch from host "${url.hostname}"; allowed hosts: ${described}`);
        }
        const response = await get(fetchImpl, url, ctx.signal);
        const location = response.headers.get('location');
        if (REDIRECTS.has(response.status) && location) {
          await response.body?.cancel();
          if (redirects >= maxRedirects) throw new BadRequestError(`http_get stopped after ${maxRedirects} redirects`);
          url = new URL(location, url);
          continue;
        }
        const contentType = response.headers.get('content-type') ?? '';
        if (contentType !== '' && !TEXTUAL.test(contentType)) {
          await response.body?.cancel();
          return { url: url.href, status: response.status, contentType, text: '', truncated: false };
        }
        const { text, truncated } = await readPrefix(response, maxBytes);
        return { url: url.href, status: response.status, contentType, text, truncated };
      }
    },
  };
}

export function isHostAllowed(hostname: string, allowedHosts: string[]): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return allowedHosts.some((entry) =>
    entry.startsWith('*.') ? host.endsWith(entry.slice(1)) && host.length > entry.length - 1 : host === entry,
  );
}

async function get(fetchImpl: typeof fetch, url: URL, signal: AbortSignal | undefined): Promise<Response> {
  try {
    return await fetchImpl(url, {
      method: 'GET',
      redirect: 'manual',
      signal,
      headers: { accept: 'text/html, text/plain, application/json;q=0.9, */*;q=0.5', 'user-agent': 'Conduit http_get' },
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    const message = error instanceof Error ? error.message : String(error);
    throw new UpstreamError(`http_get ${url.host} failed: ${message}${cause}`, { retryable: true, cause: error });
  }
}

/** Reads at most maxBytes and cancels the rest, so a huge page costs no more than its prefix. */
async function readPrefix(response: Response, maxBytes: number): Promise<{ text: string; truncated: boolean }> {
  if (!response.body) return { text: '', truncated: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > maxBytes) {
      chunks.push(value.subarray(0, maxBytes - size));
      truncated = true;
      await reader.cancel();
      break;
    }
    chunks.push(value);
    size += value.byteLength;
  }
  const bytes = Buffer.concat(chunks);
  // stream: true holds back a multi-byte character cut at the limit instead of emitting U+FFFD.
  return { text: new TextDecoder().decode(bytes, { stream: truncated }), truncated };
}
