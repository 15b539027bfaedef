import { describe, expect, it } from 'vitest';
import { parseClientFrame } from './frames.js';

describe('parseClientFrame', () => {
  it('reads a message frame with the API defaults', () => {
    const parsed = parseClientFrame(
      JSON.stringify({ type: 'message', conversation_id: 'c1', sender: { id: 'u1' }, text: '/echo hi' }),
    );
    expect(parsed).toEqual({
      ok: true,
      frame: {
        type: 'message',
        conversation_id: 'c1',
        conversation_type: 'direct',
        sender: { id: 'u1' },
        text: '/echo hi',
      },
    });
  });

  it('reads a resume frame with or without run ids', () => {
    expect(parseClientFrame('{"type":"resume","last_event_id":7}')).toEqual({
      ok: true,
      frame: { type: 'resume', last_event_id: 7 },
    });
    expect(parseClientFrame('{"type":"resume","last_event_id":7,"workflow_ids":["message:ws:a"]}')).toMatchObject({
      ok: true,
      frame: { workflow_ids: ['message:ws:a'] },
    });
  });

  it('names the first bad field and echoes the message id', () => {
    // A missing sender is the caller itself (api/sender-identity.ts); a malformed one is a bad field.
    const parsed = parseClientFrame(
      '{"type":"message","message_id":"m1","conversation_id":"c1","sender":"someone","text":"x"}',
    );
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.error.error.code).toBe('bad_request');
    expect(parsed.error.error.message).toMatch(/^sender: /);
    expect(parsed.error.message_id).toBe('m1');
  });

  it('refuses what is not a known JSON frame', () => {
    for (const raw of ['nope', '[1]', 'null', '{"type":"shout"}', '{"type":"resume","last_event_id":-1}']) {
      const parsed = parseClientFrame(raw);
      expect(parsed.ok, raw).toBe(false);
      if (!parsed.ok) expect(parsed.error).toMatchObject({ type: 'error', error: { code: 'bad_request' } });
    }
  });
});
