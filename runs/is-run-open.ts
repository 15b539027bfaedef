// Whether a run may still record events: streaming clients stop following runs that closed without a reply
// (a failure, a termination, a refusal that sent nothing), and refuse to follow runs that never existed.
import { type Client, WorkflowNotFoundError } from '@temporalio/client';

export type RunState = 'open' | 'closed' | 'unknown';

export async function runState(client: Client, workflowId: string): Promise<RunState> {
  try {
    const description = await client.workflow.getHandle(workflowId).describe();
    return description.status.name === 'RUNNING' ? 'open' : 'closed';
  } catch (error) {
    // Unknown to Temporal: never started, or closed longer ago than the namespace's retention.
    if (error instanceof WorkflowNotFoundError) return 'unknown';
    throw error;
  }
}

export async function isRunOpen(client: Client, workflowId: string): Promise<boolean> {
  return (await runState(client, workflowId)) === 'open';
}
