import { describe, expect, it } from 'vitest';
import { MAX_REMINDER_MS } from '../jobs/durations.js';
import { answersInline, parseCommand } from './commands.js';

describe('parseCommand', () => {
  it('treats text without a leading slash as free text', () => {
    expect(parseCommand('hello /echo')).toBeUndefined();
  });
  it('parses each built-in command', () => {
    expect(parseCommand(' /echo  hi there ')).toEqual({ name: 'echo', text: 'hi there' });
    expect(parseCommand('/HELP')).toEqual({ name: 'help' });
    expect(parseCommand('/time')).toEqual({ name: 'time' });
    expect(parseCommand('/jobs')).toEqual({ name: 'jobs' });
    expect(parseCommand('/remind 1h30m call the bank')).toEqual({
      name: 'remind',
      delayMs: 5_400_000,
      text: 'call the bank',
    });
    expect(parseCommand('/cancel r-abc123')).toEqual({ name: 'cancel', jobId: 'r-abc123' });
    expect(parseCommand('/approve a-1')).toEqual({ name: 'approve', jobId: 'a-1' });
    expect(parseCommand('/reject a-1 too risky')).toEqual({ name: 'reject', jobId: 'a-1', reason: 'too risky' });
  });
  it('accepts the full-width slash that Chinese input methods type', () => {
    expect(parseCommand('／time')).toEqual({ name: 'time' });
  });
  it('explains bad usage instead of failing', () => {
    expect(parseCommand('/remind soon call')).toMatchObject({ name: 'invalid', command: 'remind' });
    expect(parseCommand('/remind 10m')).toMatchObject({ name: 'invalid', command: 'remind' });
    expect(parseCommand('/echo')).toMatchObject({ name: 'invalid', command: 'echo' });
    expect(parseCommand('/cancel')).toMatchObject({ name: 'invalid', command: 'cancel' });
    expect(parseCommand(`/remind ${Math.ceil(MAX_REMINDER_MS / 86_400_000) + 1}d x`)).toMatchObject({
      name: 'invalid',
    });
    const unknown = parseCommand('/frobnicate');
    expect(unknown).toMatchObject({ name: 'invalid', command: 'frobnicate' });
    expect(unknown && 'problem' in unknown && unknown.problem).toContain('/help');
  });
});

describe('parseCommand /schedule', () => {
  it('reads intervals and five-field cron expressions', () => {
    expect(parseCommand('/schedule every 1h /echo stretch')).toEqual({
      name: 'schedule',
      every: 3_600_000,
      text: '/echo stretch',
    });
    expect(parseCommand('/schedule 0 9 * * 1-5 good morning')).toEqual({
      name: 'schedule',
      cron: '0 9 * * 1-5',
      text: 'good morning',
    });
    expect(parseCommand('/schedules')).toEqual({ name: 'schedules' });
    expect(parseCommand('/unschedule s-1234')).toEqual({ name: 'unschedule', scheduleId: 's-1234' });
  });
  it('refuses intervals under a minute, missing text and malformed cron', () => {
    expect(parseCommand('/schedule every 30s ping')).toMatchObject({
      name: 'invalid',
      problem: expect.stringContaining('once a minute'),
    });
    expect(parseCommand('/schedule every 1h')).toMatchObject({ name: 'invalid', command: 'schedule' });
    expect(parseCommand('/schedule 0 9 * * ')).toMatchObject({ name: 'invalid', command: 'schedule' });
    expect(parseCommand('/schedule 0 9 ? * (mon) hi')).toMatchObject({ name: 'invalid', command: 'schedule' });
    expect(parseCommand('/unschedule')).toMatchObject({ name: 'invalid', command: 'unschedule' });
  });
});

describe('answersInline', () => {
  it('is true only for commands the workflow answers without an activity', () => {
    const inline = ['/echo hi', '/help', '/time', '/remind soon'].map((text) => answersInline(parseCommand(text)!));
    expect(inline).toEqual([true, true, true, true]);
    const viaActivity = ['/jobs', '/cancel r-1', '/remind 5m tea', '/schedules'].map((text) =>
      answersInline(parseCommand(text)!),
    );
    expect(viaActivity).toEqual([false, false, false, false]);
  });
});
