import { describe, expect, it } from 'vitest';
import { ackFrame, disconnectReason, parseDownstreamFrame, pongFrame, ROBOT_MESSAGE_TOPIC } from './stream-frames.js';

// A robot message CALLBACK frame as DingTalk's gateway sends it (shape from the official Node SDK's sources).
const callback = JSON.stringify({
  specVersion: '1.0',
  type: 'CALLBACK',
  headers: {
    appId: '9256b875-17e5-46a8-890a-bf4246dc5349',
    connectionId: 'c3faec14-ebe9-11ed-8943-0ec429f1b9a1',
    contentType: 'application/json',
    messageId: '213f1d00_853_187b7df781f_225d',
    time: '1683362492940',
    topic: ROBOT_MESSAGE_TOPIC,
  },
  data: JSON.stringify({ msgId: 'msgqEufncv9gVqy7ia60LYs3w==', msgtype: 'text', text: { content: ' ss' } }),
});

describe('DingTalk stream frames', () => {
  it('reads a CALLBACK frame: type, topic, messageId and the data text', () => {
    const frame = parseDownstreamFrame(callback);
    expect(frame).toMatchObject({
      type: 'CALLBACK',
      topic: ROBOT_MESSAGE_TOPIC,
      messageId: '213f1d00_853_187b7df781f_225d',
    });
    expect(JSON.parse(frame!.data)).toMatchObject({ msgId: 'msgqEufncv9gVqy7ia60LYs3w==' });
  });

  it('refuses text that is not a frame', () => {
    expect(parseDownstreamFrame('not json')).toBeUndefined();
    expect(parseDownstreamFrame('[]')).toBeUndefined();
    expect(parseDownstreamFrame(JSON.stringify({ type: 'SYSTEM', headers: { topic: 'ping' } }))).toBeUndefined();
    expect(parseDownstreamFrame(JSON.stringify({ type: 'SYSTEM', headers: { messageId: 'm1' } }))).toBeUndefined();
  });

  it('builds the ACK the protocol expects: code, contentType and messageId headers, message, data as JSON text', () => {
    expect(ackFrame('m1')).toEqual({
      code: 200,
      headers: { contentType: 'application/json', messageId: 'm1' },
      message: 'OK',
      data: '{"response":null}',
    });
    expect(ackFrame('m2', { code: 400, message: 'bad body' })).toMatchObject({ code: 400, message: 'bad body' });
  });

  it('answers a ping with its own headers and data', () => {
    const ping = parseDownstreamFrame(
      JSON.stringify({
        specVersion: '1.0',
        type: 'SYSTEM',
        headers: { contentType: 'application/json', messageId: 'p1', time: '1', topic: 'ping' },
        data: '{"opaque":"x"}',
      }),
    )!;
    expect(pongFrame(ping)).toEqual({ code: 200, headers: ping.headers, message: 'OK', data: '{"opaque":"x"}' });
  });

  it('reads the reason of a disconnect frame', () => {
    const frame = parseDownstreamFrame(
      JSON.stringify({
        type: 'SYSTEM',
        headers: { messageId: 'd1', topic: 'disconnect' },
        data: JSON.stringify({ reason: 'persistent connection is timeout' }),
      }),
    )!;
    expect(disconnectReason(frame)).toBe('persistent connection is timeout');
    expect(disconnectReason({ ...frame, data: '' })).toBeUndefined();
  });
});
