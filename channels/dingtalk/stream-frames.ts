// DingTalk Stream mode frames: JSON text over the gateway WebSocket. The gateway sends SYSTEM, EVENT and CALLBACK
// frames (`data` is itself JSON text); the client answers each with an ACK naming the frame's messageId.
// Shapes from DingTalk's Stream protocol description and its official SDKs (Node, Go, Python).
import { z } from 'zod';

/** The robot message callback topic: its `data` is the same JSON body an HTTP callback carries. */
export const ROBOT_MESSAGE_TOPIC = '/v1.0/im/bot/messages/get';

export interface DownstreamFrame {
  type: string;
  topic: string;
  messageId: string;
  /** Every header as sent: a ping is answered with them unchanged. */
  headers: Record<string, unknown>;
  data: string;
}

export interface AckFrame {
  code: number;
  headers: Record<string, unknown>;
  message: string;
  data: string;
}

const downstreamSchema = z.object({
  type: z.string().min(1),
  headers: z.record(z.string(), z.unknown()),
  data: z.string().optional(),
});

/** Undefined for text that is not a frame (not JSON, or no type, topic or messageId). */
export function parseDownstreamFrame(text: string): DownstreamFrame | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = downstreamSchema.safeParse(json);
  if (!parsed.success) return undefined;
  const { type, headers, data } = parsed.data;
  const topic = headers['topic'];
  const messageId = headers['messageId'];
  if (typeof topic !== 'string' || typeof messageId !== 'string' || messageId === '') return undefined;
  return { type, topic, messageId, headers, data: data ?? '' };
}

/**
 * Code 200 tells the gateway the frame was handled and must not be pushed again. The official SDKs answer a
 * handler failure with 400 or 500 and an unknown topic with 404; a frame left unanswered is pushed again.
 */
export function ackFrame(messageId: string, answer: { code?: number; message?: string } = {}): AckFrame {
  return {
    code: answer.code ?? 200,
    headers: { contentType: 'application/json', messageId },
    message: answer.message ?? 'OK',
    // A robot callback's answer carries no message of its own: the reply goes out through the session webhook.
    data: JSON.stringify({ response: null }),
  };
}

/** The answer to a SYSTEM `ping`: code 200 with the ping's own headers and data. */
export function pongFrame(ping: DownstreamFrame): AckFrame {
  return { code: 200, headers: ping.headers, message: 'OK', data: ping.data };
}

/** The `reason` a SYSTEM `disconnect` frame gives, when it gives one. */
export function disconnectReason(frame: DownstreamFrame): string | undefined {
  try {
    const reason = (JSON.parse(frame.data) as { reason?: unknown }).reason;
    return typeof reason === 'string' ? reason.slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}
