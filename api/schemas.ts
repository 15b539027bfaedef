// Request schemas of the management API: the same zod objects validate requests (zValidator) and generate
// the OpenAPI document, so the published contract cannot drift from what the handlers accept.
import { z } from 'zod';

const idPattern = /^[\w.:@-]{1,128}$/;

export const postMessageSchema = z.object({
  message_id: z.string().regex(idPattern).optional().describe('Your id for the message; a repeat returns the same run'),
  conversation_id: z.string().regex(idPattern),
  conversation_type: z.enum(['direct', 'group']).default('direct'),
  sender: z.object({ id: z.string().regex(idPattern), name: z.string().max(200).optional() }),
  text: z.string().min(1).max(32_000),
});

export const decisionSchema = z.object({ reason: z.string().max(1000).optional() });

export const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

export const startedRunSchema = z.object({
  workflowId: z.string(),
  runId: z.string(),
  duplicate: z.boolean(),
  statusUrl: z.string(),
  result: z.unknown().optional().describe('The run status, when ?wait was given and the run finished in time'),
});
