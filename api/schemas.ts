// Request schemas of the management API: the same zod objects validate requests (api/route-spec.ts) and generate
// the OpenAPI document, so the published contract cannot drift from what the handlers accept.
import { z } from 'zod';
import { messageInputSchema } from '../core/message-input.js';

/** POST /v1/messages: the message fields every API door takes (core/message-input.ts). */
export const postMessageSchema = messageInputSchema;

export const decisionSchema = z.object({ reason: z.string().max(1000).optional() });

export const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

export const startedRunSchema = z.object({
  workflowId: z.string(),
  runId: z.string(),
  duplicate: z.boolean(),
  statusUrl: z.string(),
  result: z.unknown().optional().describe('The run status, when ?wait was given and the run finished in time'),
});
