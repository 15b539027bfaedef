// Turns whatever the OpenAI client throws into Conduit's UpstreamError, deciding retryability for Temporal.
// Vendor messages are kept (they say what went wrong) but scrubbed: some echo a prefix of the key back.
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { UpstreamError } from '../core/errors.js';

/** An LLM call failed; `status` and `vendorCode` let callers react to specific refusals (e.g. a 400). */
export class LlmRequestError extends UpstreamError {
  /** How long the vendor asked us to wait (Retry-After / retry-after-ms), when it said. */
  readonly retryAfterMs: number | undefined;
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly vendorCode: string | undefined,
    options: { retryable: boolean; cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, options);
    this.name = 'LlmRequestError';
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * Every provider of a role failed and at least one failure may pass: the activity retries, no sooner than
 * `retryAfterMs` (the largest wait any provider asked for). `failures` keeps each provider's own error.
 */
export class LlmUnavailableError extends LlmRequestError {
  constructor(
    message: string,
    readonly failures: LlmRequestError[],
    retryAfterMs: number | undefined,
  ) {
    super(message, undefined, undefined, { retryable: true, retryAfterMs });
    this.name = 'LlmUnavailableError';
  }
}

/** A vendor asking for hours (a spent daily quota) would park a chat run that long; such waits are capped. */
export const MAX_RETRY_AFTER_MS = 5 * 60_000;

/**
 * Reads `retry-after-ms` (OpenAI's) or `Retry-After` (seconds or an HTTP date) from a response's headers, in
 * milliseconds, capped at MAX_RETRY_AFTER_MS; undefined when absent or unreadable.
 */
export function parseRetryAfter(headers: Headers | undefined, now = Date.now()): number | undefined {
  const millis = Number.parseFloat(headers?.get('retry-after-ms') ?? '');
  let waitMs: number | undefined = Number.isFinite(millis) ? millis : undefined;
  const header = headers?.get('retry-after')?.trim();
  if (waitMs === undefined && header) {
    waitMs = /^\d+(\.\d+)?$/.test(header) ? Number(header) * 1000 : Date.parse(header) - now;
  }
  if (waitMs === undefined || !Number.isFinite(waitMs)) return undefined;
  return Math.min(Math.max(0, Math.round(waitMs)), MAX_RETRY_AFTER_MS);
}

const MAX_VENDOR_MESSAGE = 300;

export function toLlmError(
  error: unknown,
  provider: string,
  apiKey: string | undefined,
  timeoutMs: number,
): LlmRequestError {
  if (error instanceof LlmRequestError) return error;
  if (error instanceof APIConnectionTimeoutError) {
    return new LlmRequestError(`${provider}: request timed out after ${timeoutMs} ms`, undefined, undefined, {
      retryable: true,
    });
  }
  if (error instanceof APIUserAbortError) {
    return new LlmRequestError(`${provider}: request aborted`, undefined, undefined, { retryable: true });
  }
  if (error instanceof APIConnectionError) {
    const cause = error.cause instanceof Error ? `: ${scrub(error.cause.message, apiKey)}` : '';
    return new LlmRequestError(`${provider}: connection failed${cause}`, undefined, undefined, { retryable: true });
  }
  if (error instanceof APIError && error.status !== undefined) {
    const status = error.status;
    const code = vendorCode(error);
    const detail = vendorMessage(error.error);
    const message = [
      `${provider}: HTTP ${status}`,
      code ? ` (${code})` : '',
      detail ? `: ${scrub(detail, apiKey).slice(0, MAX_VENDOR_MESSAGE)}` : '',
    ].join('');
    return new LlmRequestError(message, status, code, {
      retryable: isRetryableStatus(status),
      retryAfterMs: parseRetryAfter(error.headers),
    });
  }
  if (error instanceof TypeError && error.message === 'terminated') {
    // undici's word for a response body whose connection closed before it ended: a broken answer, never a short one.
    return new LlmRequestError(`${provider}: the answer broke off mid-body (connection closed)`, undefined, undefined, {
      retryable: true,
    });
  }
  const text = error instanceof Error ? error.message : String(error);
  return new LlmRequestError(`${provider}: ${scrub(text, apiKey)}`, undefined, undefined, { retryable: true });
}

/** Throttling, server faults and request timeouts may pass later; anything else the vendor refused will not. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

function vendorCode(error: APIError): string | undefined {
  const code = error.code ?? error.type;
  return code === null || code === undefined ? undefined : String(code);
}

function vendorMessage(body: unknown): string | undefined {
  if (typeof body === 'string') return body;
  if (body && typeof body === 'object' && 'message' in body && typeof body.message === 'string') return body.message;
  return undefined;
}

/** Removes the key itself and anything shaped like a bearer secret (`sk-…`), masked or not. */
export function scrub(text: string, apiKey: string | undefined): string {
  const withoutKey = apiKey ? text.split(apiKey).join('[redacted]') : text;
  return withoutKey.replace(/\b(sk|ak|api)[-_][A-Za-z0-9*._-]{6,}/gi, '[redacted]');
}
