// Replies through the per-conversation session webhook DingTalk hands out with each message: no token
// needed, but it expires (sessionWebhookExpiredTime) and answers errors as `{errcode, errmsg}`.
import { UpstreamError } from '../../core/errors.js';
import type { OutboundReply } from '../../core/message.js';
import { isRetryableStatus, requestJson } from '../http-json.js';
import { sessionWebhookBody } from './message-body.js';

/**
 * DingTalk's callback signature covers the timestamp only, not the body, so a body carrying a sessionWebhook on
 * some other host must not make Conduit post replies there. DingTalk's own hosts are trusted over https, and so
 * is the configured API base (a private gateway, or a fake in tests).
 */
export function isTrustedSessionWebhook(webhookUrl: string, apiBaseUrl: string): boolean {
  if (!URL.canParse(webhookUrl)) return false;
  const url = new URL(webhookUrl);
  if (url.protocol === 'https:' && (url.hostname === 'dingtalk.com' || url.hostname.endsWith('.dingtalk.com'))) {
    return true;
  }
  return URL.canParse(apiBaseUrl) && url.origin === new URL(apiBaseUrl).origin;
}

/** Rate limiting (130101: too many messages) and system busy (-1) pass on retry; other codes will not. */
const RETRYABLE_ERRCODES = new Set([-1, 130101]);

export async function sendViaSessionWebhook(
  fetchFn: typeof fetch,
  webhookUrl: string,
  reply: OutboundReply,
): Promise<void> {
  const response = await requestJson(fetchFn, 'DingTalk session webhook', webhookUrl, {
    method: 'POST',
    body: JSON.stringify(sessionWebhookBody(reply)),
  });
  if (response.status < 200 || response.status >= 300) {
    throw new UpstreamError(`DingTalk session webhook answered HTTP ${response.status}`, {
      retryable: isRetryableStatus(response.status),
    });
  }
  const body = (response.body ?? {}) as { errcode?: unknown; errmsg?: unknown };
  if (body.errcode === 0) return;
  const errcode = typeof body.errcode === 'number' ? body.errcode : undefined;
  const errmsg = typeof body.errmsg === 'string' ? body.errmsg : 'no errmsg';
  throw new UpstreamError(`DingTalk session webhook refused the message: errcode ${errcode ?? 'missing'} (${errmsg})`, {
    retryable: errcode !== undefined && RETRYABLE_ERRCODES.has(errcode),
  });
}
