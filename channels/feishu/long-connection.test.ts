import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../core/errors.js';
import { parseDispatchedFeishuEvent } from './long-connection.js';

const APP_ID = 'cli_a1b2c3d4e5f60718';
const NOW = new Date('2024-05-01T12:00:00Z');

/** An event as the SDK's EventDispatcher hands it to a handler: header and event fields flattened together. */
function dispatched(overrides: Record<string, unknown> = {}) {
  return {
    event_type: 'im.message.receive_v1',
    schema: '2.0',
    event_id: 'ev-1',
    token: '',
    create_time: '1714564800000',
    tenant_key: 'tenant',
    app_id: APP_ID,
    sender: { sender_id: { open_id: 'ou_ann' }, sender_type: 'user', tenant_key: 'tenant' },
    message: {
      message_id: 'om_1',
      chat_id: 'oc_1',
      chat_type: 'group',
      message_type: 'text',
      content: JSON.stringify({ text: '@_user_1 hello' }),
      create_time: '1714564800000',
      mentions: [{ key: '@_user_1', id: { open_id: 'ou_bot' }, name: 'Conduit', mentioned_type: 'bot' }],
    },
    ...overrides,
  };
}

describe('Feishu long connection: dispatched events', () => {
  it('parses a flattened im.message.receive_v1 event exactly as the webhook path would', () => {
    const outcome = parseDispatchedFeishuEvent(dispatched(), APP_ID, NOW);
    expect(outcome).toEqual({
      kind: 'message',
      message: {
        channel: 'feishu',
        messageId: 'om_1',
        conversationId: 'oc_1',
        conversationType: 'group',
        sender: { id: 'ou_ann' },
        text: 'hello',
        mentions: [],
        attachments: [],
        sentAt: '2024-05-01T12:00:00.000Z',
        replyTarget: { channel: 'feishu', data: { message_id: 'om_1', chat_id: 'oc_1', chat_type: 'group' } },
      },
    });
  });

  it('ignores a message the app itself sent', () => {
    const outcome = parseDispatchedFeishuEvent(
      dispatched({ sender: { sender_id: { open_id: 'ou_bot' }, sender_type: 'app' } }),
      APP_ID,
      NOW,
    );
    expect(outcome).toMatchObject({ kind: 'ignore', reason: 'sent_by_app' });
  });

  it('refuses an event without a message with BadRequestError', () => {
    expect(() => parseDispatchedFeishuEvent(dispatched({ message: undefined }), APP_ID, NOW)).toThrow(BadRequestError);
    expect(() => parseDispatchedFeishuEvent('text', APP_ID, NOW)).toThrow(BadRequestError);
  });
});
