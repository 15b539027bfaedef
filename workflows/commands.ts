// The rule-based fast path of the intent step: built-in chat commands that work with no LLM configured.
// Pure and deterministic, so the workflow can run it in-line without an activity round trip.
import { MAX_REMINDER_MS, parseDuration } from '../jobs/durations.js';

export type Command =
  | { name: 'help' }
  | { name: 'echo'; text: string }
  | { name: 'time' }
  | { name: 'remind'; delayMs: number; text: string }
  | { name: 'jobs' }
  | { name: 'cancel'; jobId: string }
  | { name: 'approve'; jobId: string }
  | { name: 'reject'; jobId: string; reason?: string }
  | { name: 'schedule'; every?: number; cron?: string; text: string }
  | { name: 'schedules' }
  | { name: 'unschedule'; scheduleId: string }
  | { name: 'invalid'; command: string; problem: string };

export const HELP_TEXT = [
  'Commands:',
  '/help: this list',
  '/echo <text>: repeat the text',
  '/time: the current time',
  '/remind <duration> <text>: remind you later (e.g. /remind 10m stand-up, /remind 1h30m call back)',
  '/jobs: your pending reminders and approvals',
  '/cancel <id>: cancel a pending reminder or request',
  '/approve <id>, /reject <id> [reason]: decide on a request waiting for approval',
  '/schedule every <duration> <text> or /schedule <cron: 5 fields> <text>: send <text> on a schedule',
  '  (e.g. /schedule every 1h /echo stretch, /schedule 0 9 * * 1-5 good morning); /schedules, /unschedule <id>',
].join('\n');

/** Commands the workflow answers by itself, with no activity: nothing to wait for, so no progress notice. */
export function answersInline(command: Command): boolean {
  return command.name === 'help' || command.name === 'echo' || command.name === 'time' || command.name === 'invalid';
}

/** Shortest schedule interval accepted: each tick is a full run, so a tighter loop is almost always a mistake. */
export const MIN_SCHEDULE_INTERVAL_MS = 60_000;
const CRON_FIELD = /^[\d*/,A-Za-z-]+$/;
const SCHEDULE_USAGE = 'Usage: /schedule every <duration> <text>, or /schedule <minute hour day month weekday> <text>';

function parseSchedule(rest: string): Command {
  const words = rest.split(/\s+/).filter(Boolean);
  if (words[0]?.toLowerCase() === 'every') {
    const every = parseDuration(words[1] ?? '');
    const text = words.slice(2).join(' ');
    if (every === undefined || !text) return { name: 'invalid', command: 'schedule', problem: SCHEDULE_USAGE };
    if (every < MIN_SCHEDULE_INTERVAL_MS) {
      return { name: 'invalid', command: 'schedule', problem: 'A schedule can run at most once a minute.' };
    }
    return { name: 'schedule', every, text };
  }
  const fields = words.slice(0, 5);
  const text = words.slice(5).join(' ');
  if (fields.length < 5 || !fields.every((field) => CRON_FIELD.test(field)) || !text) {
    return { name: 'invalid', command: 'schedule', problem: SCHEDULE_USAGE };
  }
  return { name: 'schedule', cron: fields.join(' '), text };
}

/** Returns the command a message carries, or undefined when it is free text for the model. */
export function parseCommand(text: string): Command | undefined {
  const trimmed = text.trim();
  const match = /^[/／]([a-zA-Z]+)(?:\s+([\s\S]*))?$/.exec(trimmed);
  if (!match) return undefined;
  const name = match[1]!.toLowerCase();
  const rest = (match[2] ?? '').trim();
  switch (name) {
    case 'help':
    case 'start':
      return { name: 'help' };
    case 'echo':
      return rest ? { name: 'echo', text: rest } : { name: 'invalid', command: 'echo', problem: 'Usage: /echo <text>' };
    case 'time':
      return { name: 'time' };
    case 'jobs':
      return { name: 'jobs' };
    case 'remind': {
      const [durationText = '', ...words] = rest.split(/\s+/);
      const delayMs = parseDuration(durationText);
      const reminder = words.join(' ').trim();
      if (delayMs === undefined || !reminder) {
        return {
          name: 'invalid',
          command: 'remind',
          problem: 'Usage: /remind <duration> <text>, e.g. /remind 10m stand-up',
        };
      }
      if (delayMs > MAX_REMINDER_MS) {
        return { name: 'invalid', command: 'remind', problem: 'A reminder can be at most one year ahead.' };
      }
      return { name: 'remind', delayMs, text: reminder };
    }
    case 'schedule':
      return parseSchedule(rest);
    case 'schedules':
      return { name: 'schedules' };
    case 'unschedule':
      return rest
        ? { name: 'unschedule', scheduleId: rest.split(/\s+/)[0]! }
        : { name: 'invalid', command: 'unschedule', problem: 'Usage: /unschedule <id> (see /schedules)' };
    case 'cancel':
    case 'approve':
    case 'reject': {
      const [jobId, ...reason] = rest.split(/\s+/).filter(Boolean);
      if (!jobId) return { name: 'invalid', command: name, problem: `Usage: /${name} <id> (see /jobs for ids)` };
      if (name === 'reject') return { name, jobId, reason: reason.join(' ') || undefined };
      return { name, jobId };
    }
    default:
      return { name: 'invalid', command: name, problem: `Unknown command /${name}.\n${HELP_TEXT}` };
  }
}
