// The DingTalk enterprise robot channel: verifies and parses HTTP callbacks (Stream mode delivers the same body
// through stream-client.ts), answers through the session webhook while it is valid and the robot OpenAPI after.
import { BadRequestError } from '../../core/errors.js';
import type { ReplyTarget, SentMessageRef } from '../../core/message.js';
import type { ChannelAdapter, ChannelDeps } from '../adapter.js';
import { RefusedDelivery } from '../refusal.js';
import { createMemorySignatureClaims } from '../signature-claims.js';
import { createDingTalkTokenCache, type DingTalkCredentials } from './access-token.js';
import { readDingTalkIdentity, readDingTalkMessage } from './inbound.js';
import type { DingTalkReplyData } from './payload.js';
import { createProgressThrottle } from './progress-throttle.js';
import { sendViaRobotApi } from './robot-api.js';
import { sendViaSessionWebhook } from './session-webhook.js';
import { verifyDingTalkSign } from './sign.js';

export interface DingTalkSettings extends DingTalkCredentials {
  /** How far a callback's timestamp may be from the clock (DINGTALK_SIGNATURE_MAX_AGE_SECONDS); 5 minutes. */
  signatureMaxAgeMs?: number;
  /** When set (DINGTALK_CORP_ID), a callback's chatbotCorpId must equal it. */
  corpId?: string;
}

export const DINGTALK_SIGNATURE_MAX_AGE_MS = 5 * 60_000;

export const DINGTALK_PROGRESS_INTERVAL_MS = 10_000;
const DINGTALK_ACK = { status: 200, body: {} };

export function createDingTalkAdapter(settings: DingTalkSettings, deps: ChannelDeps): ChannelAdapter {
  const apiBaseUrl = settings.apiBaseUrl.replace(/\/+$/, '');
  const tokens = createDingTalkTokenCache({ ...settings, apiBaseUrl }, deps);
  const throttle = createProgressThrottle(DINGTALK_PROGRESS_INTERVAL_MS, deps.now, 'dingtalk');
  const robotApi = { fetch: deps.fetch, apiBaseUrl, defaultRobotCode: settings.appKey, tokens };
  const maxAgeMs = settings.signatureMaxAgeMs ?? DINGTALK_SIGNATURE_MAX_AGE_MS;
  const claims = deps.signatureClaims ?? createMemorySignatureClaims(deps.now);

  const adapter: ChannelAdapter = {
    name: 'dingtalk',
    async receive(request) {
      verifyDingTalkSign(request.headers, settings.appSecret, deps.now(), maxAgeMs);
      // The sign covers only the timestamp, so the body is checked against this robot, and each (timestamp,
      // sign) pair authenticates one message: a captured pair cannot carry a new body in.
      const identity = readDingTalkIdentity(request.body);
      if (identity.robotCode !== settings.appKey) {
        throw new RefusedDelivery('DingTalk callback is not for this robot (robotCode)', 'wrong_robot');
      }
      if (settings.corpId !== undefined && identity.chatbotCorpId !== settings.corpId) {
        throw new RefusedDelivery('DingTalk callback is not for this organisation (chatbotCorpId)', 'wrong_corp');
      }
      const timestamp = request.headers['timestamp']!;
      const fresh = await claims.claim({
        channel: 'dingtalk',
        signature: `${timestamp}:${request.headers['sign']}`,
        messageId: identity.msgId,
        expiresAt: new Date(Number(timestamp) + maxAgeMs),
      });
      if (!fresh) {
        throw new RefusedDelivery('DingTalk signature was already used for another message', 'replayed_signature');
      }
      const outcome = readDingTalkMessage(request.body, request.receivedAt, apiBaseUrl);
      if (outcome.kind !== 'message') return outcome;
      // The reply goes out through the session webhook later; an answer body carrying a message would be posted
      // by DingTalk at once, so the acknowledgement is a bare 200.
      return { ...outcome, ack: DINGTALK_ACK };
    },
    async send(target, reply): Promise<SentMessageRef> {
      const data = readReplyData(target);
      const { sessionWebhook, sessionWebhookExpiredTime } = data;
      if (
        sessionWebhook &&
        sessionWebhookExpiredTime !== undefined &&
        deps.now().getTime() < sessionWebhookExpiredTime
      ) {
        await sendViaSessionWebhook(deps.fetch, sessionWebhook, reply);
        return { channel: 'dingtalk' };
      }
      return sendViaRobotApi(robotApi, data, reply);
    },
    sendProgress(target, text, previous) {
      const data = readReplyData(target);
      return throttle.run(data.conversationId, () => adapter.send(target, { text, format: 'text' }), previous);
    },
  };
  return adapter;
}

function readReplyData(target: ReplyTarget): DingTalkReplyData {
  const data = target.data;
  const conversationType = data['conversationType'];
  const conversationId = data['conversationId'];
  if ((conversationType !== '1' && conversationType !== '2') || typeof conversationId !== 'string') {
    throw new BadRequestError('DingTalk reply target lacks conversationType or conversationId');
  }
  return {
    conversationType,
    conversationId,
    sessionWebhook: optionalString(data['sessionWebhook']),
    sessionWebhookExpiredTime:
      typeof data['sessionWebhookExpiredTime'] === 'number' ? data['sessionWebhookExpiredTime'] : undefined,
    senderStaffId: optionalString(data['senderStaffId']),
    robotCode: optionalString(data['robotCode']),
  };
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
