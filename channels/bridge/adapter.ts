// The bridge channel, the example in docs/channels.md ("Adding a channel"): a small program of yours relays chat
// messages from a system Conduit has no adapter for. One shared bearer token (BRIDGE_TOKEN) guards both
// directions: deliveries to /webhooks/bridge present it, and replies go to BRIDGE_REPLY_URL carrying it.
import { BadRequestError, UnauthorizedError, UpstreamError } from '../../core/errors.js';
import type { ReplyFormat, ReplyTarget, SentMessageRef } from '../../core/message.js';
import type { ChannelAdapter, ChannelDeps } from '../adapter.js';
import { constantTimeEqual } from '../constant-time.js';
import { isRetryableStatus, requestJson } from '../http-json.js';
import { type BridgeReplyData, parseBridgeMessage } from './message.js';

export interface BridgeSettings {
  token: string;
  replyUrl: string;
}

/** What the bridge's reply endpoint receives, as JSON, with `Authorization: Bearer <BRIDGE_TOKEN>`. */
export interface BridgeReply {
  room: string;
  in_reply_to: string;
  kind: 'reply' | 'progress';
  text: string;
  format: ReplyFormat;
}

export function createBridgeAdapter(settings: BridgeSettings, deps: ChannelDeps): ChannelAdapter {
  const deliver = async (target: ReplyTarget, reply: BridgeReply, key: string): Promise<SentMessageRef> => {
    const response = await requestJson(deps.fetch, 'bridge', settings.replyUrl, {
      method: 'POST',
      // The key is the same on every retry of one reply, so the bridge can drop a repeated delivery.
      headers: { authorization: `Bearer ${settings.token}`, 'idempotency-key': key },
      body: JSON.stringify(reply),
    });
    if (response.status < 200 || response.status >= 300) {
      throw new UpstreamError(`bridge reply endpoint answered HTTP ${response.status}`, {
        retryable: isRetryableStatus(response.status),
      });
    }
    return { channel: target.channel, platformMessageId: key };
  };

  return {
    name: 'bridge',
    // Verify, then parse: nothing of an unauthenticated body is read.
    async receive(request) {
      const presented = /^Bearer (.+)$/i.exec(request.headers['authorization'] ?? '')?.[1];
      if (presented === undefined || !constantTimeEqual(presented, settings.token)) {
        throw new UnauthorizedError('bridge token missing or wrong');
      }
      return { kind: 'message', message: parseBridgeMessage(request.body, request.receivedAt) };
    },
    send(target, reply) {
      const data = replyData(target);
      const key = reply.idempotencyKey ?? `${data.in_reply_to}:reply`;
      return deliver(target, { ...data, kind: 'reply', text: reply.text, format: reply.format }, key);
    },
    // The bridge shows progress as it likes; each notice of one message carries the same key to replace the last.
    sendProgress(target, text) {
      const data = replyData(target);
      return deliver(target, { ...data, kind: 'progress', text, format: 'text' }, `${data.in_reply_to}:progress`);
    },
  };
}

function replyData(target: ReplyTarget): BridgeReplyData {
  const { room, in_reply_to } = target.data;
  if (typeof room !== 'string' || typeof in_reply_to !== 'string') {
    throw new BadRequestError('bridge reply target lacks room or in_reply_to');
  }
  return { room, in_reply_to };
}
