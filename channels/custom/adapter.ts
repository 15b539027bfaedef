// The custom HTTP channel: Conduit's own signed webhook in, signed callbacks out. Without a callback_url the
// reply is not pushed anywhere: the pipeline keeps it and the caller reads it through the API.
import { BadRequestError } from '../../core/errors.js';
import type { OutboundReply, ReplyTarget, SentMessageRef } from '../../core/message.js';
import type { ChannelAdapter, ChannelDeps } from '../adapter.js';
import { type CustomCallbackBody, postCallback } from './callback.js';
import { type CallbackPolicy, checkCallbackUrl } from './callback-address.js';
import { progressIdempotencyKey, replyIdempotencyKey } from './idempotency-key.js';
import { type CustomReplyData, parseCustomMessage } from './payload.js';
import { CUSTOM_SIGNATURE_HEADER, verifyCustomSignature } from './signature.js';

export interface CustomSettings {
  /** Accepted signing secrets; the first one signs callbacks. */
  secrets: string[];
  /** Hosts whose callback_url may be a private or loopback address (CUSTOM_CALLBACK_ALLOWED_HOSTS). */
  callbackAllowedHosts?: string[];
  /** Injected by tests; the system resolver otherwise. */
  resolve?: CallbackPolicy['resolve'];
}

export function createCustomAdapter(settings: CustomSettings, deps: ChannelDeps): ChannelAdapter {
  const [signingSecret] = settings.secrets;
  if (!signingSecret) throw new Error('the custom channel needs at least one secret');
  const callbackPolicy: CallbackPolicy = {
    allowedHosts: (settings.callbackAllowedHosts ?? []).map((host) => host.trim().toLowerCase()).filter(Boolean),
    resolve: settings.resolve,
  };

  const deliver = async (
    data: CustomReplyData,
    content: Pick<CustomCallbackBody, 'kind' | 'text' | 'format'>,
    idempotencyKey: string,
  ): Promise<SentMessageRef> => {
    if (!data.callback_url) return { channel: 'custom' };
    // message_id says what the callback is (every progress notice of a message shares one, so each replaces the
    // last); the idempotency key says which delivery it is, so a receiver drops a retry and nothing else.
    const messageId = `${data.message_id}:${content.kind}`;
    await postCallback(
      callbackPolicy,
      signingSecret,
      data.callback_url,
      {
        message_id: messageId,
        conversation_id: data.conversation_id,
        in_reply_to: data.message_id,
        text: content.text,
        format: content.format,
        kind: content.kind,
        idempotency_key: idempotencyKey,
      },
      deps.now(),
    );
    return { channel: 'custom', platformMessageId: messageId };
  };

  return {
    name: 'custom',
    async receive(request) {
      verifyCustomSignature(request.headers[CUSTOM_SIGNATURE_HEADER], request.body, settings.secrets, deps.now());
      const message = parseCustomMessage(request.body, request.receivedAt);
      // Refused here, a bad callback_url is the sender's 400 and no run starts to fail at its reply.
      const callbackUrl = message.replyTarget.data['callback_url'];
      if (typeof callbackUrl === 'string') await checkCallbackUrl(callbackUrl, callbackPolicy);
      return { kind: 'message', message };
    },
    // Async, so that a malformed target is a rejected promise like any other failure to send.
    async send(target, reply: OutboundReply) {
      const data = readReplyData(target);
      const key = replyIdempotencyKey(data.message_id, reply.idempotencyKey);
      return deliver(data, { kind: 'reply', text: reply.text, format: reply.format }, key);
    },
    async sendProgress(target, text) {
      const data = readReplyData(target);
      return deliver(data, { kind: 'progress', text, format: 'text' }, progressIdempotencyKey(data.message_id, text));
    },
  };
}

function readReplyData(target: ReplyTarget): CustomReplyData {
  const { message_id, conversation_id, callback_url } = target.data;
  if (typeof message_id !== 'string' || typeof conversation_id !== 'string') {
    throw new BadRequestError('custom reply target lacks message_id or conversation_id');
  }
  if (callback_url !== undefined && typeof callback_url !== 'string') {
    throw new BadRequestError('custom reply target has a malformed callback_url');
  }
  return { message_id, conversation_id, callback_url };
}
