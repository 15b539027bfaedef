import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../core/errors.js';
import { createToolRegistry } from '../registry.js';
import { createCurrentTimeTool, localTime } from './current-time.js';

// 2025-03-01T01:30:00Z: a Saturday morning in Shanghai, still Friday evening in New York.
const instant = new Date('2025-03-01T01:30:00Z');
const registry = createToolRegistry([createCurrentTimeTool({ now: () => instant })]);

describe('current_time', () => {
  it('defaults to Asia/Shanghai', async () => {
    expect(await registry.runTool('current_time', '{}')).toEqual({
      timezone: 'Asia/Shanghai',
      iso: '2025-03-01T09:30:00+08:00',
      date: '2025-03-01',
      time: '09:30:00',
      weekday: 'Saturday',
      utcOffset: '+08:00',
    });
  });

  it('answers in a requested zone, with its offset and weekday', async () => {
    expect(await registry.runTool('current_time', '{"timezone":"America/New_York"}')).toMatchObject({
      iso: '2025-02-28T20:30:00-05:00',
      weekday: 'Friday',
    });
  });

  it('writes UTC as +00:00 and keeps half-hour offsets', () => {
    expect(localTime(instant, 'UTC').iso).toBe('2025-03-01T01:30:00+00:00');
    expect(localTime(instant, 'Asia/Kolkata').iso).toBe('2025-03-01T07:00:00+05:30');
  });

  it('rejects a zone that is not IANA with a hint', async () => {
    const error = await registry.runTool('current_time', '{"timezone":"Beijing"}').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toContain('IANA time zone');
  });
});
