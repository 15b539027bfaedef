// Tells the model the current date and time in a time zone; models have no clock of their own.
import { z } from 'zod';
import type { ToolDefinition } from '../types.js';

export const DEFAULT_TIME_ZONE = 'Asia/Shanghai';

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

const inputSchema = z.object({
  timezone: z
    .string()
    .refine(isTimeZone, 'expected an IANA time zone such as Asia/Shanghai or Europe/Berlin')
    .optional(),
});

export interface CurrentTime {
  timezone: string;
  /** ISO 8601 local time with its UTC offset, e.g. 2025-03-01T09:30:00+08:00. */
  iso: string;
  date: string;
  time: string;
  weekday: string;
  utcOffset: string;
}

export function createCurrentTimeTool(options: { now?: () => Date } = {}): ToolDefinition<z.infer<typeof inputSchema>> {
  const now = options.now ?? (() => new Date());
  return {
    name: 'current_time',
    description: `Returns the current date, time and weekday in an IANA time zone (default ${DEFAULT_TIME_ZONE}).`,
    parameters: {
      type: 'object',
      properties: {
        timezone: { type: 'string', description: `IANA time zone name, e.g. ${DEFAULT_TIME_ZONE} or America/New_York` },
      },
      additionalProperties: false,
    },
    inputSchema,
    sensitive: false,
    pure: true,
    timeoutMs: 1_000,
    run: async (input) => localTime(now(), input.timezone ?? DEFAULT_TIME_ZONE),
  };
}

export function localTime(instant: Date, timezone: string): CurrentTime {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    weekday: 'long',
    timeZoneName: 'longOffset',
  }).formatToParts(instant);
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  // longOffset reads "GMT+08:00", or plain "GMT" at offset zero.
  const utcOffset = part('timeZoneName').replace('GMT', '') || '+00:00';
  const date = `${part('year')}-${part('month')}-${part('day')}`;
  const time = `${part('hour')}:${part('minute')}:${part('second')}`;
  return { timezone, iso: `${date}T${time}${utcOffset}`, date, time, weekday: part('weekday'), utcOffset };
}
