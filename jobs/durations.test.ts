import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './durations.js';

describe('parseDuration', () => {
  it('reads single and compound units', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('2D')).toBe(172_800_000);
  });
  it('refuses anything that is not a duration', () => {
    for (const text of ['', '10', 'm', '1x', '-5m', '1.5h', '0s', '10 m']) expect(parseDuration(text)).toBeUndefined();
  });
  it('formats back into the same notation', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(90_000)).toBe('1m30s');
  });
});
