// Validation and ids; the whole path (job row, reminder workflow, delivery) is in test/tools-reminder.test.ts.
import type { Client } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import type { Metrics } from '../../core/metrics.js';
import type { Database } from '../../db/client.js';
import { createToolRegistry } from '../registry.js';
import type { ToolContext } from '../types.js';
import { createScheduleReminderTool, reminderJobId } from './schedule-reminder.js';

const unused = new Proxy(
  {},
  {
    get: () => {
      throw new Error('not expected to be used');
    },
  },
);
const registry = createToolRegistry([
  createScheduleReminderTool({
    db: unused as Database,
    metrics: unused as Metrics,
    temporal: unused as Client,
    taskQueue: 'q',
    now: () => new Date('2030-01-01T00:00:00Z'),
  }),
]);
const ctx: ToolContext = {
  runId: 'message:api:1',
  callId: 'call_1',
  channel: 'api',
  conversationId: 'api:c1',
  userId: 'u1',
  replyTarget: { channel: 'api', data: {} },
};
const call = (args: Record<string, unknown>, context: ToolContext = ctx) =>
  registry.runTool('schedule_reminder', JSON.stringify(args), context);

describe('schedule_reminder validation', () => {
  it('needs exactly one of delay and at', async () => {
    await expect(call({ text: 'x' })).rejects.toThrow('exactly one of delay or at');
    await expect(call({ text: 'x', delay: '1m', at: '2030-01-01T01:00:00Z' })).rejects.toThrow('exactly one');
  });

  it('explains a delay it cannot read', async () => {
    await expect(call({ text: 'x', delay: 'tomorrow' })).rejects.toThrow(
      'delay "tomorrow" is not a duration like 90s, 10m, 1h30m or 2d',
    );
  });

  it('refuses times in the past or more than a year ahead', async () => {
    await expect(call({ text: 'x', at: '2029-12-31T23:00:00Z' })).rejects.toThrow('is in the past');
    await expect(call({ text: 'x', at: '2031-06-01T00:00:00+08:00' })).rejects.toThrow('at most one year');
    await expect(call({ text: 'x', delay: '400d' })).rejects.toThrow('at most one year');
    await expect(call({ text: 'x', at: 'next friday' })).rejects.toThrow(/ISO-8601/);
  });

  it('refuses to run outside a run it can answer', async () => {
    await expect(call({ text: 'x', delay: '1m' }, { runId: 'r' })).rejects.toThrow(
      'inside a run that can be replied to',
    );
  });
});

describe('reminderJobId', () => {
  it('is stable per run and call, and looks like a /remind id', () => {
    const id = reminderJobId({ runId: 'wf', callId: 'c1' });
    expect(id).toMatch(/^r-[0-9a-f]{8}$/);
    expect(reminderJobId({ runId: 'wf', callId: 'c1' })).toBe(id);
    expect(reminderJobId({ runId: 'wf', callId: 'c2' })).not.toBe(id);
    expect(reminderJobId({})).not.toBe(reminderJobId({}));
  });
});
