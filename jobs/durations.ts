// Durations as people type them in chat and tool calls (`90s`, `10m`, `1h30m`, `2d`), and back. Pure and
// workflow-safe: the /remind command parses in the workflow, the schedule_reminder tool in an activity.

const UNITS_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
/** Longest reminder accepted: one year. Durable timers can wait longer, but such input is usually a typo. */
export const MAX_REMINDER_MS = 366 * UNITS_MS.d!;

/** Parses `90s`, `10m`, `1h30m`, `2d`; returns milliseconds, or undefined for anything else. */
export function parseDuration(input: string): number | undefined {
  const text = input.trim().toLowerCase();
  if (!/^(\d+[smhdw])+$/.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)([smhdw])/g)) {
    total += Number(amount) * UNITS_MS[unit!]!;
  }
  return total > 0 ? total : undefined;
}

export function formatDuration(ms: number): string {
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, seconds] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= seconds) {
      parts.push(`${Math.floor(rest / seconds)}${unit}`);
      rest %= seconds;
    }
  }
  return parts.join('') || '0s';
}
