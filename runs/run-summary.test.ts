import { describe, expect, it } from 'vitest';
import { firstWords, messageRunSummary, reminderRunSummary } from './run-summary.js';

const message = { channel: 'feishu', sender: { id: 'ou_1', name: 'Zhang San' }, text: '' };

describe('run summaries', () => {
  it('show the channel, the sender and the first words, with personal data masked as in the logs', () => {
    expect(
      messageRunSummary({ ...message, text: 'please call 13812345678 or mail zs@example.com about the invoice today' }),
    ).toBe('feishu · Zhang San: "please call [PHONE_1] or mail [EMAIL_1] about the …"');
  });

  it('keep one short line: whitespace folded, long words cut', () => {
    expect(firstWords('  hello\n\n  world  ')).toBe('hello world');
    expect(firstWords('x'.repeat(200))).toHaveLength(60);
    expect(firstWords('x'.repeat(200)).endsWith('…')).toBe(true);
  });

  it('fall back to the sender id when the platform gave no name', () => {
    expect(messageRunSummary({ ...message, sender: { id: 'ou_abc' }, text: 'hi' })).toBe('feishu · ou_abc: "hi"');
  });

  it('say when a reminder is due and what it will say', () => {
    expect(reminderRunSummary('r-1', message, 'stretch', Date.UTC(2026, 10, 28, 6))).toBe(
      'reminder r-1 · feishu · Zhang San, due 2026-11-28T06:00:00.000Z: "stretch"',
    );
  });
});
