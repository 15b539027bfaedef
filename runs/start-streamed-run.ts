// Starts a run for a streaming client (WebSocket, gRPC): the message fields they send, checked once here, become
// the canonical message, and the run's 'accepted' event is recorded before the run starts so it is its first.
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { z } from 'zod';
import { postMessageSchema } from '../api/schemas.js';
import type { InboundMessage } from '../core/message.js';
import type { Database } from '../db/client.js';
import type { BlobStore } from '../storage/blob-store.js';
import { messageWorkflowId } from './contract.js';
import { appendRunEvent, removeRunEvent } from './run-events.js';
import { type StartedRun, startMessageRun } from './start-message-run.js';

/** The message fields a streaming client sends: POST /v1/messages's own schema, so the doors cannot drift. */
export const streamMessageSchema = postMessageSchema;

export type StreamMessage = z.infer<typeof streamMessageSchema>;

export function toInboundMessage(channel: string, input: StreamMessage, now: Date): InboundMessage {
  return {
    channel,
    messageId: input.message_id ?? randomUUID(),
    conversationId: input.conversation_id,
    conversationType: input.conversation_type,
    sender: input.sender,
    text: input.text,
    mentions: [],
    attachments: [],
    sentAt: now.toISOString(),
    // Streaming channels need nothing to answer: the reply reaches the client through the run's events.
    replyTarget: { channel, data: {} },
  };
}

export interface StreamRunDeps {
  temporal: Client;
  taskQueue: string;
  db: Database;
  /** Where texts too large for workflow payloads go (see offload-large-text.ts). */
  blobs?: BlobStore;
}

/**
 * Records 'accepted' (owned by the API key that sent the message, so a reconnect finds its runs), then starts
 * the run. A redelivery finds its existing run and records nothing new.
 */
export async function startStreamedRun(
  deps: StreamRunDeps,
  message: InboundMessage,
  owner: string,
): Promise<StartedRun> {
  const workflowId = messageWorkflowId(message.channel, message.messageId);
  // A redelivery looks first: a conflicting insert would spend an id, and a gap holds streams back.
  const accepted = await appendRunEvent(
    deps.db,
    workflowId,
    'accepted',
    {
      channel: message.channel,
      messageId: message.messageId,
      conversationId: message.conversationId,
      senderId: message.sender.id,
      owner,
    },
    { lookFirst: true },
  );
  try {
    return await startMessageRun(deps.temporal, deps.taskQueue, message, { blobs: deps.blobs });
  } catch (error) {
    // No run started: an 'accepted' left behind would announce a run that does not exist.
    if (accepted !== undefined) await removeRunEvent(deps.db, accepted).catch(() => undefined);
    throw error;
  }
}
