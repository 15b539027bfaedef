// Starts the message run of a canonical message; the door (accept-message.ts) calls it for every ingress path.
// The workflow id comes from the channel and the platform's message id, so a redelivered message finds its
// existing run instead of starting a second one. The run starts labelled (run-labels.ts): its search attributes
// and the one-line summary the Temporal UI shows.
import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { InboundMessage } from '../core/message.js';
import type { BlobStore } from '../storage/blob-store.js';
import { type HandleMessageWorkflow, MESSAGE_RUN_GENERATION, messageWorkflowId } from './contract.js';
import { offloadLargeText } from './offload-large-text.js';
import { messageRunAttributes, messageRunMetadata } from './run-labels.js';

export interface StartedRun {
  workflowId: string;
  runId: string;
  /** True when this delivery was a duplicate and the existing run was returned. */
  duplicate: boolean;
}

export async function startMessageRun(
  client: Client,
  taskQueue: string,
  message: InboundMessage,
  options: { eager?: boolean; blobs?: BlobStore } = {},
): Promise<StartedRun> {
  const workflowId = messageWorkflowId(message.channel, message.messageId);
  const payload = options.blobs ? await offloadLargeText(message, options.blobs) : message;
  try {
    const handle = await client.workflow.start<HandleMessageWorkflow>('handleMessage', {
      workflowId,
      taskQueue,
      // Stamped with the generation, so the run decides its path without a patch marker (run-generation.ts).
      args: [{ message: payload, generation: MESSAGE_RUN_GENERATION }],
      // Found by channel, conversation and sender from the first moment; read as one line in the UI's list.
      typedSearchAttributes: messageRunAttributes(message),
      ...messageRunMetadata(message),
      // A run, once finished, keeps its id for the namespace's retention period: redeliveries start nothing.
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      workflowIdConflictPolicy: 'FAIL',
      requestEagerStart: options.eager,
    });
    return { workflowId, runId: handle.firstExecutionRunId, duplicate: false };
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    const existing = await client.workflow.getHandle(workflowId).describe();
    return { workflowId, runId: existing.runId, duplicate: true };
  }
}
