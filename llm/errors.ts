// Turns whatever the OpenAI client throws into Conduit's UpstreamError, deciding retryability for Temporal.
// Vendor messages are kept (they say what went wrong) but scrubbed: some echo a prefix of the key back.
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { UpstreamError } from '../core/errors.js';

/** An LLM call failed; `status` and `vendorCode` let callers react to specific refusals (e.g. a 400). */
export class LlmRequestError extends UpstreamError {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly vendorCode: string | undefined,
    options: { retryable: boolean; cause?: unknown },
  ) {
    super(message, options);
    this.name = 'LlmRequestError';
  }
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
    return new LlmRequestError(message, status, code, { retryable: isRetryableStatus(status) });
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
