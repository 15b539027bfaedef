import { describe, expect, it } from 'vitest';
import { createProgressThrottle } from './progress-throttle.js';

describe('progress throttle', () => {
  it('sends at most one notice per conversation per interval and answers the earlier ref meanwhile', async () => {
    let now = 0;
    let sent = 0;
    const throttle = createProgressThrottle(10_000, () => new Date(now), 'dingtalk');
    const send = async () => ({ channel: 'dingtalk', platformMessageId: `n${++sent}` });
    expect(await throttle.run('c1', send)).toEqual({ channel: 'dingtalk', platformMessageId: 'n1' });
    now = 9_999;
    expect(await throttle.run('c1', send)).toEqual({ channel: 'dingtalk', platformMessageId: 'n1' });
    expect(await throttle.run('c1', send, { channel: 'dingtalk', platformMessageId: 'given' })).toEqual({
      channel: 'dingtalk',
      platformMessageId: 'given',
    });
    expect(await throttle.run('c2', send)).toEqual({ channel: 'dingtalk', platformMessageId: 'n2' });
    now = 10_000;
    expect(await throttle.run('c1', send)).toEqual({ channel: 'dingtalk', platformMessageId: 'n3' });
  });

  it('suppresses a concurrent second notice while the first is still being sent', async () => {
    let sent = 0;
    const throttle = createProgressThrottle(10_000, () => new Date(0), 'dingtalk');
    const send = async () => ({ channel: 'dingtalk', platformMessageId: `n${++sent}` });
    await Promise.all([throttle.run('c1', send), throttle.run('c1', send)]);
    expect(sent).toBe(1);
  });

  it('does not count a failed notice, so the next one goes out at once', async () => {
    const throttle = createProgressThrottle(10_000, () => new Date(0), 'dingtalk');
    await expect(throttle.run('c1', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    await expect(throttle.run('c1', async () => ({ channel: 'dingtalk', platformMessageId: 'ok' }))).resolves.toEqual({
      channel: 'dingtalk',
      platformMessageId: 'ok',
    });
  });
});
