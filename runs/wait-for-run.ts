// `?wait=<seconds>`: lets a synchronous caller have the run's answer in the same HTTP exchange when it comes
// in time. The run is durable either way; a timeout only means the caller reads the status URL later.
import { type Client, WorkflowFailedError } from '@temporalio/client';
import type { RunStatus } from './contract.js';

export const MAX_WAIT_SECONDS = 60;

/** Parses the `wait` query parameter: undefined when absent, a number of seconds capped at MAX_WAIT_SECONDS. */
export function parseWaitSeconds(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0) return undefined;
  return Math.min(seconds, MAX_WAIT_SECONDS);
}

export async function waitForRun(client: Client, workflowId: string, seconds: number): Promise<RunStatus | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), seconds * 1000);
  });
  try {
    const result = client.workflow
      .getHandle(workflowId)
      .result()
      .then(
        (status) => status as RunStatus,
        (error: unknown): RunStatus => {
          // A run that failed outright (a bug, a terminated run) is an answer too, not an API error.
          if (error instanceof WorkflowFailedError) return { step: 'done', plan: [], toolCalls: [], outcome: 'failed' };
          throw error;
        },
      );
    return await Promise.race([result, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
