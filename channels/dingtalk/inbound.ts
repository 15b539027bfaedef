// A DingTalk robot message body → IngressOutcome, shared by the two ways messages arrive: the HTTP callback
// (whose sign header the adapter checks first) and Stream mode (authenticated by the gateway connection itself).
import { BadRequestError } from '../../core/errors.js';
import { checkId } from '../../core/message-input.js';
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

/** The fields that say which robot and which message a callback is for, read before anything else is parsed. */
export interface DingTalkCallbackIdentity {
  msgId: string;
  robotCode?: string;
  chatbotCorpId?: string;
}

/** Throws BadRequestError for a body that is not a JSON object with a msgId. */
export function readDingTalkIdentity(rawBody: string): DingTalkCallbackIdentity {
  let json: unknown;
  try {
    json = JSON.parse(rawBody);
  } catch {
    throw new BadRequestError('body is not valid JSON');
  }
  const body = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  const msgId = text(body['msgId']);
  if (!msgId) throw new BadRequestError('invalid DingTalk callback: msgId: missing');
  // Checked before the signature claim records it; the door checks every id again.
  checkId('message id', msgId);
  return { msgId, robotCode: text(body['robotCode']), chatbotCorpId: text(body['chatbotCorpId']) };
}
