// Feishu webhook deliveries as the platform sends them, for tests that only need a message to arrive: a plain
// (unencrypted, token-verified) im.message.receive_v1 event. Encrypted and signed deliveries are built where
// their tests check the crypto.
import { randomBytes } from 'node:crypto';

export interface FeishuTextMessage {
  /** The app's verification token and id, as configured (FEISHU_VERIFICATION_TOKEN, FEISHU_APP_ID). */
  token: string;
  appId: string;
  messageId: string;
  chatId: string;
  chatType: 'p2p' | 'group';
  text: string;
  /** The sender's open_id. */
  openId: string;
}

/** POSTs the event to the platform's Feishu webhook and returns the answer's status. */
export async function deliverFeishuText(apiUrl: string, message: FeishuTextMessage): Promise<number> {
  const now = String(Date.now());
  const response = await fetch(`${apiUrl}/webhooks/feishu`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      schema: '2.0',
      header: {
        event_id: randomBytes(16).toString('hex'),
        event_type: 'im.message.receive_v1',
        create_time: now,
        token: message.token,
        app_id: message.appId,
        tenant_key: 't-test',
      },
      event: {
        sender: { sender_id: { open_id: message.openId, user_id: 'u1', union_id: 'on_1' }, sender_type: 'user' },
        message: {
          message_id: message.messageId,
          create_time: now,
          chat_id: message.chatId,
          chat_type: message.chatType,
          message_type: 'text',
          content: JSON.stringify({ text: message.text }),
        },
      },
    }),
  });
  await response.arrayBuffer();
  return response.status;
}
