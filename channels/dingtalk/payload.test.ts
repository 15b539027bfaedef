import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../core/errors.js';
import type { InboundMessage } from '../../core/message.js';
import { parseDingTalkCallback } from './payload.js';

const RECEIVED = new Date('2024-05-01T12:00:00Z');

const groupText = {
  msgtype: 'text',
  text: { content: ' what is the weather' },
  msgId: 'msgABC==',
  createAt: 1714564800000,
  conversationType: '2',
  conversationId: 'cidGroup==',
  conversationTitle: 'Team',
  senderId: '$:LWCP_v1:$sender',
  senderNick: 'Ann',
  senderStaffId: 'staff-ann',
  senderCorpId: 'corp1',
  chatbotUserId: '$:LWCP_v1:$bot',
  chatbotCorpId: 'corp1',
  robotCode: 'dingrobot',
  isAdmin: false,
  isInAtList: true,
  atUsers: [{ dingtalkId: '$:LWCP_v1:$bot' }],
  sessionWebhook: 'https://oapi.dingtalk.com/robot/sendBySession?session=abc',
  sessionWebhookExpiredTime: 1714566600000,
};

function parseMessage(body: unknown): InboundMessage {
  const outcome = parseDingTalkCallback(JSON.stringify(body), RECEIVED);
  if (outcome.kind !== 'message') throw new Error(`expected a message, got ${outcome.kind}`);
  return outcome.message;
}

describe('DingTalk callback parsing', () => {
  it('parses a group text message into the canonical shape', () => {
    expect(parseMessage(groupText)).toEqual({
      channel: 'dingtalk',
      messageId: 'msgABC==',
      conversationId: 'cidGroup==',
      conversationType: 'group',
      sender: { id: 'staff-ann', name: 'Ann' },
      text: 'what is the weather',
      mentions: [],
      attachments: [],
      sentAt: '2024-05-01T12:00:00.000Z',
      replyTarget: {
        channel: 'dingtalk',
        data: {
          sessionWebhook: 'https://oapi.dingtalk.com/robot/sendBySession?session=abc',
          sessionWebhookExpiredTime: 1714566600000,
          conversationType: '2',
          conversationId: 'cidGroup==',
          senderStaffId: 'staff-ann',
          robotCode: 'dingrobot',
        },
      },
    });
  });

  it('strips a leading robot mention when the robot is the only user mentioned', () => {
    expect(parseMessage({ ...groupText, text: { content: '@Conduit  summarise this' } }).text).toBe('summarise this');
  });

  it('keeps a leading mention of a colleague and lists colleagues as mentions', () => {
    const message = parseMessage({
      ...groupText,
      text: { content: ' @Bob please review' },
      atUsers: [{ dingtalkId: '$:LWCP_v1:$bot' }, { dingtalkId: '$:LWCP_v1:$bob', staffId: 'staff-bob' }],
    });
    expect(message.text).toBe('@Bob please review');
    expect(message.mentions).toEqual([{ id: 'staff-bob' }]);
  });

  it('maps conversationType "1" to a direct chat and falls back to senderId without a staff id', () => {
    const message = parseMessage({ ...groupText, conversationType: '1', senderStaffId: undefined, atUsers: undefined });
    expect(message.conversationType).toBe('direct');
    expect(message.sender).toEqual({ id: '$:LWCP_v1:$sender', name: 'Ann' });
    expect(message.replyTarget.data).not.toHaveProperty('senderStaffId');
  });

  it('concatenates richText text parts and turns pictures into attachments', () => {
    const message = parseMessage({
      ...groupText,
      msgtype: 'richText',
      text: undefined,
      content: {
        richText: [
          { text: 'look at ' },
          { type: 'picture', downloadCode: 'dl-1', pictureDownloadCode: 'pdl-1' },
          { text: 'this chart' },
        ],
      },
    });
    expect(message.text).toBe('look at this chart');
    expect(message.attachments).toEqual([{ kind: 'image', platformRef: 'dl-1' }]);
  });

  it('turns picture, file and audio messages into attachments (audio keeps its transcript as text)', () => {
    const picture = parseMessage({ ...groupText, msgtype: 'picture', content: { downloadCode: 'pic-1' } });
    expect(picture.attachments).toEqual([{ kind: 'image', platformRef: 'pic-1' }]);
    const file = parseMessage({ ...groupText, msgtype: 'file', content: { downloadCode: 'f-1', fileName: 'a.pdf' } });
    expect(file.attachments).toEqual([{ kind: 'file', platformRef: 'f-1', name: 'a.pdf' }]);
    const audio = parseMessage({
      ...groupText,
      msgtype: 'audio',
      content: { downloadCode: 'a-1', duration: 3000, recognition: 'hello there' },
    });
    expect(audio.attachments).toEqual([{ kind: 'audio', platformRef: 'a-1' }]);
    expect(audio.text).toBe('hello there');
  });

  it('ignores message types Conduit does not handle', () => {
    expect(parseDingTalkCallback(JSON.stringify({ ...groupText, msgtype: 'interactiveCard' }), RECEIVED)).toEqual({
      kind: 'ignore',
      reason: 'unhandled_message_type',
      detail: 'DingTalk msgtype interactiveCard is not handled',
    });
  });

  it('rejects malformed JSON and callbacks missing required fields with BadRequestError', () => {
    expect(() => parseDingTalkCallback('{"msgId":', RECEIVED)).toThrow(BadRequestError);
    expect(() => parseDingTalkCallback(JSON.stringify({ ...groupText, msgId: undefined }), RECEIVED)).toThrow(/msgId/);
    expect(() => parseDingTalkCallback(JSON.stringify({ ...groupText, conversationType: '3' }), RECEIVED)).toThrow(
      BadRequestError,
    );
    expect(() =>
      parseDingTalkCallback(JSON.stringify({ ...groupText, msgtype: 'picture', content: {} }), RECEIVED),
    ).toThrow(BadRequestError);
  });
});
