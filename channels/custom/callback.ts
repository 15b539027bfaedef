// Delivers replies and progress notices to a custom message's callback_url, signed like inbound webhooks so
// the receiver can verify them with the same code.
import { UpstreamError } from '../../core/errors.js';
import type { ReplyFormat } from '../../core/message.js';
import { isRetryableStatus, requestJson } from '../http-json.js';
import { signCustomPayload } from './signature.js';

export interface CustomCallbackBody {
  message_id: string;
  conversation_id: string;
  in_reply_to: string;
  text: string;
  format: ReplyFormat;
  kind: 'reply' | 'progress';
}

export async function postCallback(
  fetchFn: typeof fetch,
  secret: string,
  url: string,
  payload: CustomCallbackBody,
  now: Date,
): Promise<void> {
  const body = JSON.stringify(payload);
  const signature = signCustomPayload(secret, body, Math.floor(now.getTime() / 1000));
  const response = await requestJson(fetchFn, 'custom callback', url, {
    method: 'POST',
    headers: { 'x-conduit-signature': signature },
    body,
  });
  if (response.status < 200 || response.status >= 300) {
    throw new UpstreamError(`custom callback answered HTTP ${response.status}`, {
      retryable: isRetryableStatus(response.status),
    });
  }
}
