// The Feishu/Lark channel (event subscription v2, HTTP mode): opens and authenticates deliveries, answers the
// url_verification challenge, parses message events, and replies through the IM API with a tenant token. Events
// that arrive over the long connection (long-connection.ts) are parsed by the same message-event.ts.
import { createHash } from 'node:crypto';
import { BadRequestError, NotFoundError, UnauthorizedError } from '../../core/errors.js';
import type { ReplyTarget } from '../../core/message.js';
import type { ChannelAdapter, ChannelDeps, IngressOutcome } from '../adapter.js';
import { constantTimeEqual } from '../constant-time.js';
import { openFeishuEnvelope } from './envelope.js';
import { progressCard, replyBody } from './message-body.js';
import { type FeishuReplyData, parseFeishuMessageEvent } from './message-event.js';
import { createFeishuApi } from './open-api.js';
import { createFeishuTokenCache, type FeishuCredentials } from './tenant-token.js';

export interface FeishuSettings extends FeishuCredentials {
  encryptKey?: string;
  verificationToken?: string;
}

const FEISHU_ACK = { status: 200, body: {} };

/**
 * Without a verification token or an encrypt key no webhook can be authenticated: events then arrive over the
 * long connection only, and this adapter just sends.
 */
export function createFeishuAdapter(settings: FeishuSettings, deps: ChannelDeps): ChannelAdapter {
  const takesWebhooks = Boolean(settings.encryptKey || settings.verificationToken);
  const baseUrl = settings.baseUrl.replace(/\/+$/, '');
  const api = createFeishuApi(deps.fetch, baseUrl, createFeishuTokenCache({ ...settings, baseUrl }, deps));

  /** Without a configured token only an encrypted payload is authentic; with one, the token must match. */
  const checkToken = (token: unknown, encrypted: boolean) => {
    if (settings.verificationToken === undefined) {
      if (!encrypted) throw new UnauthorizedError('Feishu payload is neither encrypted nor carries a token');
      return;
    }
    if (typeof token !== 'string' || !constantTimeEqual(token, settings.verificationToken)) {
      throw new UnauthorizedError('Feishu verification token does not match');
    }
  };

  return {
    name: 'feishu',
    async receive(request): Promise<IngressOutcome> {
      if (!takesWebhooks) {
        throw new NotFoundError(
          'Feishu webhooks are off: set FEISHU_VERIFICATION_TOKEN or FEISHU_ENCRYPT_KEY to take them',
        );
      }
      const { payload, encrypted } = openFeishuEnvelope(request, settings, deps.now());
      if (payload['type'] === 'url_verification') {
        checkToken(payload['token'], encrypted);
        if (typeof payload['challenge'] !== 'string') throw new BadRequestError('Feishu challenge is missing');
        return { kind: 'respond', status: 200, body: { challenge: payload['challenge'] } };
      }
      if (payload['schema'] === '2.0') {
        const header = (payload['header'] ?? {}) as Record<string, unknown>;
        checkToken(header['token'], encrypted);
        if (header['event_type'] !== 'im.message.receive_v1') {
          return {
            kind: 'ignore',
            reason: 'unhandled_event_type',
            detail: `Feishu event type ${String(header['event_type']).slice(0, 100)} is not handled`,
          };
        }
        const outcome = parseFeishuMessageEvent(payload, settings.appId, request.receivedAt);
        // Feishu counts anything but HTTP 200 within 3 seconds as a failed push and redelivers it.
        return outcome.kind === 'message' ? { ...outcome, ack: FEISHU_ACK } : outcome;
      }
      if (payload['type'] === 'event_callback') {
        checkToken(payload['token'], encrypted);
        return {
          kind: 'ignore',
          reason: 'unsupported_schema',
          detail: 'Feishu schema 1.0 events are not supported; subscribe with schema 2.0',
        };
      }
      throw new BadRequestError('unrecognised Feishu payload');
    },

    async send(target, reply) {
      const data = readReplyData(target);
      const body = { ...replyBody(reply), uuid: idempotencyKey(data.message_id, 'reply', reply.text) };
      const sent = await api.call(
        'POST',
        `/open-apis/im/v1/messages/${encodeURIComponent(data.message_id)}/reply`,
        body,
        'reply',
      );
      return { channel: 'feishu', platformMessageId: optionalString(sent['message_id']) };
    },

    async sendProgress(target, text, previous) {
      const content = progressCard(text);
      if (previous?.platformMessageId) {
        const path = `/open-apis/im/v1/messages/${encodeURIComponent(previous.platformMessageId)}`;
        await api.call('PATCH', path, { content }, 'progress card update');
        return { channel: 'feishu', platformMessageId: previous.platformMessageId };
      }
      const data = readReplyData(target);
      const body = { msg_type: 'interactive', content, uuid: idempotencyKey(data.message_id, 'progress', '') };
      const path = `/open-apis/im/v1/messages/${encodeURIComponent(data.message_id)}/reply`;
      const sent = await api.call('POST', path, body, 'progress card');
      return { channel: 'feishu', platformMessageId: optionalString(sent['message_id']) };
    },
  };
}

/** Feishu drops a second reply with the same uuid within an hour, so a retried send cannot post twice. */
function idempotencyKey(messageId: string, kind: string, text: string): string {
  return createHash('sha256').update(`${messageId}\n${kind}\n${text}`).digest('hex').slice(0, 40);
}

function readReplyData(target: ReplyTarget): FeishuReplyData {
  const { message_id, chat_id, chat_type } = target.data;
  if (typeof message_id !== 'string' || message_id === '') {
    throw new BadRequestError('Feishu reply target lacks message_id');
  }
  return { message_id, chat_id: String(chat_id ?? ''), chat_type: String(chat_type ?? '') };
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
