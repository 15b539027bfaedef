// What a failed step tells the user and the log: the failure's own message, not Temporal's wrapper around it.
import { ApplicationFailure } from '@temporalio/workflow';

export function errorMessage(error: unknown): string {
  if (error instanceof ApplicationFailure) return error.message;
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) return cause.message;
  return error instanceof Error ? error.message : String(error);
}
