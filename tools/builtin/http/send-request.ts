// Sends one HTTP request for a tool under the operator's policy: the host allowlist is checked on every hop,
// redirects are followed by hand, connections go through the SSRF guard, and the body read stops at the size
// cap. Node's http module (not fetch) because it lets the guard sit in the connection's own DNS lookup.
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { BadRequestError, ConduitError, UpstreamError } from '../../../core/errors.js';
import {
  BlockedAddressError,
  checkLiteralAddress,
  guardedLookup,
  isHostAllowed,
  mayReachPrivate,
  type Resolver,
} from '../../../security/address-guard.js';

export interface HttpPolicy {
  /** Host names allowed, exact (`api.example.com`) or a subdomain wildcard (`*.example.com`). */
  allowedHosts: string[];
  maxResponseBytes: number;
  maxRedirects: number;
  /** Tool name used in error messages. */
  toolName: string;
  /** Injected by tests; the system resolver otherwise. */
  resolve?: Resolver;
}

export interface OutgoingRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: Buffer;
}

export interface HttpResult {
  url: string;
  status: number;
  contentType: string;
  /** A few response headers an API caller may need (location, retry-after, etag). */
  headers: Record<string, string>;
  text: string;
  truncated: boolean;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const TEXTUAL = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded|xhtml\+xml|[\w.+-]+\+(json|xml)))/i;
const RETURNED_HEADERS = ['location', 'retry-after', 'etag', 'last-modified', 'content-length'];
/** Credentials never follow a redirect to another origin. */
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie'];
const BODY_HEADERS = ['content-type', 'content-encoding', 'content-language'];

/** Failures that mean the request never left: retrying cannot repeat its effect. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

export const isIdempotent = (method: string) => ['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'].includes(method);

export const truncationMarker = (maxBytes: number) =>
  `\n[truncated: the response is longer than ${maxBytes} bytes; only the first ${maxBytes} are shown]`;

export async function sendRequest(
  request: OutgoingRequest,
  policy: HttpPolicy,
  signal?: AbortSignal,
): Promise<HttpResult> {
  const allowed = policy.allowedHosts.map((host) => host.trim().toLowerCase()).filter(Boolean);
  const described = allowed.length > 0 ? allowed.join(', ') : 'none configured';
  let { method, url, headers, body } = request;
  for (let redirects = 0; ; redirects += 1) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new BadRequestError(`${policy.toolName} only follows http(s) URLs, not ${url.protocol}`);
    }
    if (!isHostAllowed(url.hostname, allowed)) {
      throw new BadRequestError(
        `${policy.toolName} may not fetch from host "${url.hostname}"; allowed hosts: ${described}`,
      );
    }
    const response = await requestOnce({ method, url, headers, body }, allowed, policy, signal);
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (REDIRECTS.has(status) && location) {
      response.destroy();
      if (redirects >= policy.maxRedirects) {
        throw new BadRequestError(`${policy.toolName} stopped after ${policy.maxRedirects} redirects`);
      }
      const next = new URL(location, url);
      // As browsers do: 303 always, and 301/302 after a POST, continue as a GET without the body.
      if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
        if (method !== 'HEAD') method = 'GET';
        body = undefined;
        headers = without(headers, BODY_HEADERS);
      }
      if (next.origin !== url.origin) headers = without(headers, CREDENTIAL_HEADERS);
      url = next;
      continue;
    }
    const contentType = String(response.headers['content-type'] ?? '');
    const returned = Object.fromEntries(
      RETURNED_HEADERS.flatMap((name) => {
        const value = response.headers[name];
        return typeof value === 'string' ? [[name, value]] : [];
      }),
    );
    if (contentType !== '' && !TEXTUAL.test(contentType)) {
      response.destroy();
      return { url: url.href, status, contentType, headers: returned, text: '', truncated: false };
    }
    const { text, truncated } = await readPrefix(response, policy.maxResponseBytes);
    return {
      url: url.href,
      status,
      contentType,
      headers: returned,
      text: truncated ? text + truncationMarker(policy.maxResponseBytes) : text,
      truncated,
    };
  }
}

function without(headers: Record<string, string>, names: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !names.includes(name.toLowerCase())));
}

async function requestOnce(
  request: OutgoingRequest,
  allowedHosts: string[],
  policy: HttpPolicy,
  signal: AbortSignal | undefined,
): Promise<IncomingMessage> {
  const { url } = request;
  const allowPrivate = mayReachPrivate(url.hostname, allowedHosts);
  checkLiteralAddress(url.hostname, allowPrivate);
  const transport = url.protocol === 'https:' ? https : http;
  try {
    return await new Promise<IncomingMessage>((resolve, reject) => {
      const outgoing = transport.request(url, {
        method: request.method,
        headers: {
          'user-agent': `Conduit ${policy.toolName}`,
          accept: 'application/json, text/plain;q=0.9, text/html;q=0.8, */*;q=0.5',
          ...request.headers,
          ...(request.body ? { 'content-length': String(request.body.byteLength) } : {}),
        },
        // A fresh connection each time: a pooled socket would skip the guarded lookup.
        agent: false,
        lookup: guardedLookup(allowPrivate, policy.resolve) as never,
        signal,
      });
      outgoing.once('response', resolve);
      outgoing.once('error', reject);
      outgoing.end(request.body);
    });
  } catch (error) {
    if (error instanceof ConduitError) throw error;
    if (signal?.aborted) throw error;
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof BlockedAddressError) throw cause;
    const message = error instanceof Error ? error.message : String(error);
    const code = (error as NodeJS.ErrnoException).code ?? '';
    // A POST or PATCH that may have reached the server is not repeated behind the model's back.
    const retryable = isIdempotent(request.method) || NOT_SENT.has(code);
    throw new UpstreamError(`${policy.toolName} ${url.host} failed: ${message}`, { retryable, cause: error });
  }
}

/** Reads at most maxBytes and drops the rest, so a huge response costs no more than its prefix. */
async function readPrefix(response: IncomingMessage, maxBytes: number): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of response) {
    const value = chunk as Buffer;
    if (size + value.byteLength > maxBytes) {
      chunks.push(value.subarray(0, maxBytes - size));
      truncated = true;
      response.destroy();
      break;
    }
    chunks.push(value);
    size += value.byteLength;
  }
  // stream: true holds back a multi-byte character cut at the limit instead of emitting U+FFFD.
  return { text: new TextDecoder().decode(Buffer.concat(chunks), { stream: truncated }), truncated };
}
