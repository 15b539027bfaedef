import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../pii/logger.js';
import { createRefusalLog } from './refusal-log.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { lines, logger };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('refusal log', () => {
  it('logs the first N per key and interval, then one summary with the count of the rest', () => {
    vi.useFakeTimers();
    const { lines, logger } = capture();
    const log = createRefusalLog(logger, { perInterval: 3, intervalMs: 1000 });
    for (let i = 0; i < 2000; i += 1)
      log.warn('custom:unauthorized', { channel: 'custom', code: 'unauthorized' }, 'rejected');
    log.warn('dingtalk:unauthorized', { channel: 'dingtalk', code: 'unauthorized' }, 'rejected');
    expect(lines.filter((line) => line['msg'] === 'rejected')).toHaveLength(4);
    vi.advanceTimersByTime(1000);
    const summaries = lines.filter((line) => line['msg'] === 'delivery rejections not logged one by one');
    expect(summaries).toEqual([expect.objectContaining({ channel: 'custom', code: 'unauthorized', suppressed: 1997 })]);
    // A new interval logs again.
    log.warn('custom:unauthorized', { channel: 'custom', code: 'unauthorized' }, 'rejected');
    expect(lines.filter((line) => line['msg'] === 'rejected')).toHaveLength(5);
  });

  it('flush writes pending summaries at once', () => {
    const { lines, logger } = capture();
    const log = createRefusalLog(logger, { perInterval: 1 });
    log.warn('k', { channel: 'feishu', code: 'unauthorized', refusal: 'unsigned' }, 'rejected');
    log.warn('k', { channel: 'feishu', code: 'unauthorized', refusal: 'unsigned' }, 'rejected');
    log.flush();
    expect(lines.at(-1)).toMatchObject({ channel: 'feishu', refusal: 'unsigned', suppressed: 1 });
  });
});
