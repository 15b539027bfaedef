// The WebSocket wire format. Client frames: `message` (start a run) and `resume` (replay what a dropped
// connection missed). Server frames: run events `{id, workflowId, type, data, at}` and `{type:'error', error}`.
import { z } from 'zod';
import { messageInputSchema } from '../../core/message-input.js';
import { describeIssue } from '../../core/validation.js';

const eventId = z.number().int().nonnegative();

export const clientFrameSchema = z.discriminatedUnion('type', [
  messageInputSchema.extend({ type: z.literal('message') }),
  z.object({
    type: z.literal('resume'),
    last_event_id: eventId,
    /** The runs to resume; absent: every run this API key started over WebSocket. */
    workflow_ids: z.array(z.string().min(1).max(300)).max(100).optional(),
  }),
]);

export type ClientFrame = z.infer<typeof clientFrameSchema>;

export interface ErrorFrame {
  type: 'error';
  error: { code: string; message: string };
  /** The `message_id` of the frame that failed, when it had one. */
  message_id?: string;
}

export type ParsedFrame = { ok: true; frame: ClientFrame } | { ok: false; error: ErrorFrame };

export function parseClientFrame(raw: string): ParsedFrame {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, error: errorFrame('bad_request', 'frames are JSON objects') };
  }
  const parsed = clientFrameSchema.safeParse(json);
  if (parsed.success) return { ok: true, frame: parsed.data };
  const messageId = (json as { message_id?: unknown } | null)?.message_id;
  return {
    ok: false,
    error: errorFrame(
      'bad_request',
      describeIssue(parsed.error, 'frame'),
      typeof messageId === 'string' ? messageId : undefined,
    ),
  };
}

export function errorFrame(code: string, message: string, messageId?: string): ErrorFrame {
  return { type: 'error', error: { code, message }, ...(messageId ? { message_id: messageId.slice(0, 128) } : {}) };
}
