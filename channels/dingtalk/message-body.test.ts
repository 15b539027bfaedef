import { describe, expect, it } from 'vitest';
import { markdownTitle, robotApiMessage, sessionWebhookBody } from './message-body.js';

describe('DingTalk message bodies', () => {
  it('renders text with at.atUserIds and names mentioned users in the content', () => {
    expect(sessionWebhookBody({ text: 'done', format: 'text', mentionUserIds: ['staff-ann'] })).toEqual({
      msgtype: 'text',
      text: { content: '@staff-ann done' },
      at: { atUserIds: ['staff-ann'] },
    });
  });

  it('renders markdown with a title taken from the first line', () => {
    expect(sessionWebhookBody({ text: '## Weather\nSunny', format: 'markdown' })).toEqual({
      msgtype: 'markdown',
      markdown: { title: 'Weather', text: '## Weather\nSunny' },
    });
  });

  it('renders robot OpenAPI templates with msgParam as a JSON string', () => {
    expect(robotApiMessage({ text: 'hi', format: 'text' })).toEqual({
      msgKey: 'sampleText',
      msgParam: '{"content":"hi"}',
    });
    expect(robotApiMessage({ text: '**hi**', format: 'markdown' })).toEqual({
      msgKey: 'sampleMarkdown',
      msgParam: '{"title":"hi","text":"**hi**"}',
    });
  });

  it('shortens long titles and falls back when there is no text line', () => {
    expect(markdownTitle('x'.repeat(50))).toHaveLength(30);
    expect(markdownTitle('\n---\n')).toBe('Reply');
  });
});
