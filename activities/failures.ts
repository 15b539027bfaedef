// Turns Conduit's typed errors into Temporal failures: permanent ones become non-retryable with the error's
// code as the failure type (listed in the workflows' nonRetryableErrorTypes), the rest are retried.
import { ApplicationFailure } from '@temporalio/activity';
import { ConduitError } from '../core/errors.js';

export function toFailure(error: unknown): unknown {
  if (error instanceof ApplicationFailure) return error;
  if (error instanceof ConduitError) {
    return ApplicationFailure.create({
      message: error.message,
      type: error.code,
      nonRetryable: !error.retryable,
      cause: undefined,
    });
  }
  return error;
}

/** Wraps every function of an activity object so thrown domain errors reach Temporal as typed failures. */
export function withTypedFailures<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (error) {
        throw toFailure(error);
      }
    };
    Object.defineProperty(wrapped[name], 'name', { value: name });
  }
  return wrapped as T;
}
