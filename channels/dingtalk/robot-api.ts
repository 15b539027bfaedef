// Sends through the robot OpenAPI once the session webhook has expired: batchSend to a staff member for single
// chats, groupMessages/send for groups. A rejected token is refreshed and the call retried once.
import { UpstreamError } from '../../core/errors.js';
import type { OutboundReply, SentMessageRef } from '../../core/message.js';
import { isRetryableStatus, type JsonResponse, requestJson } from '../http-json.js';
import type { TokenCache } from '../token-cache.js';
import { robotApiMessage } from './message-body.js';
import type { DingTalkReplyData } from './payload.js';

export interface RobotApiContext {
  fetch: typeof fetch;
  apiBaseUrl: string;
  /** Enterprise-internal robots use the app key as robot code; the callback's robotCode wins when present. */
  defaultRobotCode: string;
  tokens: TokenCache;
}

export async function sendViaRobotApi(
  context: RobotApiContext,
  target: DingTalkReplyData,
  reply: OutboundReply,
): Promise<SentMessageRef> {
  const robotCode = target.robotCode ?? context.defaultRobotCode;
  const message = robotApiMessage(reply);
  let path: string;
  let payload: Record<string, unknown>;
  if (target.conversationType === '1') {
    if (!target.senderStaffId) {
      throw new UpstreamError('DingTalk session webhook expired and the sender has no staff id to message directly', {
        retryable: false,
      });
    }
    path = '/v1.0/robot/oToMessages/batchSend';
    payload = { robotCode, userIds: [target.senderStaffId], ...message };
  } else {
    path = '/v1.0/robot/groupMessages/send';
    payload = { robotCode, openConversationId: target.conversationId, ...message };
  }

  let token = await context.tokens.get();
  let response = await post(context, path, payload, token);
  if (isInvalidToken(response)) {
    context.tokens.invalidate(token);
    token = await context.tokens.get();
    response = await post(context, path, payload, token);
  }
  return readAnswer(response);
}

function post(context: RobotApiContext, path: string, payload: unknown, token: string): Promise<JsonResponse> {
  return requestJson(context.fetch, 'DingTalk robot API', `${context.apiBaseUrl}${path}`, {
    method: 'POST',
    headers: { 'x-acs-dingtalk-access-token': token },
    body: JSON.stringify(payload),
  });
}

interface RobotApiAnswer {
  code?: unknown;
  message?: unknown;
  processQueryKey?: unknown;
  invalidStaffIdList?: unknown;
  flowControlledStaffIdList?: unknown;
}

function isInvalidToken(response: JsonResponse): boolean {
  if (response.status === 401) return true;
  const code = (response.body as RobotApiAnswer | undefined)?.code;
  return (
    typeof code === 'string' && /InvalidAuthentication|(invalid|expired).*token|token.*(invalid|expired)/i.test(code)
  );
}

function readAnswer(response: JsonResponse): SentMessageRef {
  const body = (response.body ?? {}) as RobotApiAnswer;
  if (response.status < 200 || response.status >= 300) {
    const code = typeof body.code === 'string' ? body.code : 'no code';
    const message = typeof body.message === 'string' ? body.message : 'no message';
    const throttled = /throttl|QpsLimit|flowControl|rateLimit/i.test(code);
    throw new UpstreamError(`DingTalk robot API refused the message: HTTP ${response.status} ${code} (${message})`, {
      retryable: throttled || isRetryableStatus(response.status),
    });
  }
  if (Array.isArray(body.flowControlledStaffIdList) && body.flowControlledStaffIdList.length > 0) {
    throw new UpstreamError('DingTalk robot API rate-limited the recipient', { retryable: true });
  }
  if (Array.isArray(body.invalidStaffIdList) && body.invalidStaffIdList.length > 0) {
    throw new UpstreamError('DingTalk robot API rejected the recipient staff id', { retryable: false });
  }
  return typeof body.processQueryKey === 'string'
    ? { channel: 'dingtalk', platformMessageId: body.processQueryKey }
    : { channel: 'dingtalk' };
}
