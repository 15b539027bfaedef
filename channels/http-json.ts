// Outbound JSON calls shared by the adapters: one timeout, no redirects, and transport failures turned into
// retryable UpstreamErrors whose message never carries the URL (DingTalk session webhooks hold a token there).
import { UpstreamError } from '../core/errors.js';

export interface JsonResponse {
  status: number;
  /** The parsed JSON answer, or undefined when the body was empty or not JSON. */
  body: unknown;
}

export interface JsonRequest {
  method: 'POST' | 'PATCH';
  headers?: Record<string, string>;
  /** The exact JSON text to send (callers that sign the body need it verbatim). */
  body: string;
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

export async function requestJson(
  fetchFn: typeof fetch,
  platform: string,
  url: string,
  request: JsonRequest,
): Promise<JsonResponse> {
  let response: Response;
  let text: string;
  try {
    response = await fetchFn(url, {
      method: request.method,
      headers: { 'content-type': 'application/json; charset=utf-8', ...request.headers },
      body: request.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(request.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
    text = await response.text();
  } catch (cause) {
    const reason = cause instanceof Error && cause.name === 'TimeoutError' ? 'timed out' : 'failed to connect';
    throw new UpstreamError(`${platform} request ${reason}`, { retryable: true, cause });
  }
  return { status: response.status, body: parseJson(text) };
}

/** 429 and 5xx may pass on retry; any other refusal will not. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
