// Conduit's one error vocabulary. Activities turn permanent errors into non-retryable ApplicationFailures
// (see activities/failures.ts); the API maps them to `{ error: { code, message } }` in one handler.

export abstract class ConduitError extends Error {
  abstract readonly code: string;
  abstract readonly httpStatus: number;
  /** Whether retrying the same operation can succeed; permanent errors end a run's step at once. */
  readonly retryable: boolean = false;
}

export class BadRequestError extends ConduitError {
  readonly code = 'bad_request';
  readonly httpStatus = 400;
}

export class UnauthorizedError extends ConduitError {
  readonly code = 'unauthorized';
  readonly httpStatus = 401;
}

export class ForbiddenError extends ConduitError {
  readonly code = 'forbidden';
  readonly httpStatus = 403;
}

export class NotFoundError extends ConduitError {
  readonly code = 'not_found';
  readonly httpStatus = 404;
}

export class PayloadTooLargeError extends ConduitError {
  readonly code = 'payload_too_large';
  readonly httpStatus = 413;
}

export class RateLimitedError extends ConduitError {
  readonly code = 'rate_limited';
  readonly httpStatus = 429;
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/** A dependency (LLM vendor, chat platform, store) failed in a way that may pass on retry. */
export class UpstreamError extends ConduitError {
  readonly code = 'upstream_error';
  readonly httpStatus = 502;
  override readonly retryable: boolean;
  constructor(message: string, options: { retryable: boolean; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.retryable = options.retryable;
  }
}

/** A dependency Conduit needs to answer (Temporal, an identity provider) is unreachable now; try again later. */
export class UnavailableError extends ConduitError {
  readonly code = 'unavailable';
  readonly httpStatus = 503;
  override readonly retryable = true;
  /** When the caller should try again (HTTP Retry-After), if known. */
  readonly retryAfterSeconds?: number;
  constructor(message: string, options: { cause?: unknown; retryAfterSeconds?: number } = {}) {
    super(message, { cause: options.cause });
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}
