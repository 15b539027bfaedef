// Recurring messages through Temporal Schedules on the real dev server: POST /v1/schedules starts runs on
// the `api` channel at every tick, GET lists them, DELETE stops them.
import { like } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runs } from '../db/schema.js';
import type { RunStatus } from '../runs/contract.js';
import { eventually, startTestPlatform, type TestPlatform } from './support/platform.js';

let platform: TestPlatform;

beforeAll(async () => {
  platform = await startTestPlatform();
});
afterAll(async () => {
  await platform?.stop();
});

interface ScheduleView {
  id: string;
  intervalSeconds?: number;
  cron?: string;
  conversation_id: string;
  text: string;
  runIdPrefix: string;
  nextRunTimes: string[];
}

const runsOf = async (prefix: string) =>
  platform.database.db
    .select()
    .from(runs)
    .where(like(runs.workflowId, `${prefix}%`));

async function create(body: Record<string, unknown>): Promise<Response> {
  return platform.api('/v1/schedules', { method: 'POST', body: JSON.stringify(body) });
}

describe('schedules', () => {
  it('starts a run every 2 seconds until the schedule is deleted', async () => {
    const conversation = `sched-${Date.now()}`;
    const response = await create({
      intervalSeconds: 2,
      conversation_id: conversation,
      sender: { id: 'cron-bot' },
      text: '/echo tick',
    });
    expect(response.status).toBe(201);
    const schedule = (await response.json()) as ScheduleView;
    expect(schedule).toMatchObject({ intervalSeconds: 2, conversation_id: conversation, text: '/echo tick' });
    expect(schedule.runIdPrefix).toBe(`schedule:${schedule.id}-`);
    expect(schedule.nextRunTimes.length).toBeGreaterThan(0);

    const started = await eventually(
      async () => {
        const rows = await runsOf(schedule.runIdPrefix);
        return rows.filter((row) => row.status === 'completed').length >= 2 ? rows : undefined;
      },
      30_000,
      'two completed scheduled runs',
    );
    const first = started.find((row) => row.status === 'completed')!;
    expect(first).toMatchObject({ channel: 'api', conversationId: `api:${conversation}`, senderId: 'cron-bot' });
    const status = (await platform.temporal.workflow.getHandle(first.workflowId).result()) as RunStatus;
    expect(status.reply).toBe('tick');

    const listed = await eventually(
      async () => {
        const body = (await (await platform.api('/v1/schedules')).json()) as { schedules: ScheduleView[] };
        return body.schedules.find((entry) => entry.id === schedule.id);
      },
      20_000,
      'the schedule in the list',
    );
    expect(listed).toMatchObject({ intervalSeconds: 2, text: '/echo tick' });
    expect((await platform.api(`/v1/schedules/${schedule.id}`)).status).toBe(200);

    const deleted = await platform.api(`/v1/schedules/${schedule.id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect((await platform.api(`/v1/schedules/${schedule.id}`)).status).toBe(404);

    // A tick may have fired just before the delete: let every started run finish, then prove that no new
    // run starts over more than two intervals. Absence can only be shown by waiting.
    const settled = await eventually(
      async () => {
        const rows = await runsOf(schedule.runIdPrefix);
        return rows.every((row) => row.status !== 'running') ? rows.length : undefined;
      },
      20_000,
      'scheduled runs to finish',
    );
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect((await runsOf(schedule.runIdPrefix)).length).toBe(settled);
  });

  it('takes a cron expression with a time zone', async () => {
    const response = await create({
      cron: '0 9 * * MON-FRI',
      timezone: 'Asia/Shanghai',
      conversation_id: 'sched-cron',
      sender: { id: 'cron-bot' },
      text: 'daily stand-up summary',
    });
    expect(response.status).toBe(201);
    const schedule = (await response.json()) as ScheduleView;
    expect(schedule).toMatchObject({ cron: '0 9 * * MON-FRI' });
    // 09:00 in Shanghai is 01:00 UTC.
    expect(schedule.nextRunTimes[0]).toMatch(/T01:00:00\.000Z$/);
    expect((await platform.api(`/v1/schedules/${schedule.id}`, { method: 'DELETE' })).status).toBe(200);
  });

  it.each([
    [{ intervalSeconds: 60, cron: '* * * * *' }, 'exactly one of cron or intervalSeconds'],
    [{}, 'exactly one of cron or intervalSeconds'],
    [{ intervalSeconds: 0 }, 'intervalSeconds'],
    [{ intervalSeconds: 60, timezone: 'UTC' }, 'timezone applies to cron schedules only'],
    [{ cron: 'every tuesday-ish' }, 'invalid schedule'],
  ])('refuses %j', async (spec, message) => {
    const response = await create({ ...spec, conversation_id: 'sched-bad', sender: { id: 'x' }, text: 'hi' });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('bad_request');
    expect(body.error.message).toContain(message);
  });

  it('answers 404 for a schedule that does not exist', async () => {
    expect((await platform.api('/v1/schedules/s-000000000000', { method: 'DELETE' })).status).toBe(404);
    expect((await platform.api('/v1/schedules/s-000000000000')).status).toBe(404);
  });
});
