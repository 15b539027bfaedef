// The daily retention purge as a Temporal Schedule, created or brought up to date whenever an API process starts
// (create-or-update: every replica may do it, the last one wins with identical settings).
import {
  type Client,
  ScheduleAlreadyRunning,
  type ScheduleOptionsStartWorkflowAction,
  ScheduleOverlapPolicy,
  type ScheduleSpec,
} from '@temporalio/client';
import type { RetentionPurgeWorkflow } from './retention-classes.js';

export const retentionScheduleId = (taskQueue: string) => `retention-purge:${taskQueue}`;

/** 03:17 UTC: outside office hours in China and Europe, and off the hour that everyone else's jobs pick. */
const DAILY: ScheduleSpec = { cronExpressions: ['17 3 * * *'] };

export async function ensureRetentionSchedule(temporal: Client, taskQueue: string): Promise<void> {
  const scheduleId = retentionScheduleId(taskQueue);
  const action: ScheduleOptionsStartWorkflowAction<RetentionPurgeWorkflow> = {
    type: 'startWorkflow',
    workflowType: 'retentionPurge',
    workflowId: scheduleId,
    taskQueue,
    args: [{ trigger: 'schedule' }],
    staticSummary: 'retention purge, daily schedule',
  };
  // A purge still running at the next tick is not doubled; a day missed during an outage is made up within 6 h.
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '6 hours' } as const;
  try {
    await temporal.schedule.create({ scheduleId, spec: DAILY, action, policies });
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    await temporal.schedule
      .getHandle(scheduleId)
      .update<RetentionPurgeWorkflow>((previous) => ({ ...previous, spec: DAILY, action, policies }));
  }
}
