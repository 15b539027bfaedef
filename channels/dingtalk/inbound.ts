// A DingTalk robot message body → IngressOutcome, shared by the two ways messages arrive: the HTTP callback
// (whose sign header the adapter checks first) and Stream mode (authenticated by the gateway connection itself).
import { BadRequestError } from '../../core/errors.js';
import type { IngressOutcome } from '../adapter.js';
import { parseDingTalkCallback } from './payload.js';
import { isTrustedSessionWebhook } from './session-webhook.js';

/** Throws BadRequestError for a malformed body or a sessionWebhook outside DingTalk and the configured API base. */
export function readDingTalkMessage(rawBody: string, receivedAt: Date, apiBaseUrl: string): IngressOutcome {
  const outcome = parseDingTalkCallback(rawBody, receivedAt);
  if (outcome.kind !== 'message') return outcome;
  const sessionWebhook = outcome.message.replyTarget.data['sessionWebhook'];
  if (typeof sessionWebhook === 'string' && !isTrustedSessionWebhook(sessionWebhook, apiBaseUrl)) {
    throw new BadRequestError('DingTalk sessionWebhook is not a DingTalk address');
  }
  return outcome;
}
