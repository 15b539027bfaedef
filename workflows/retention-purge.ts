// Deletes data past its retention period, one data class at a time, then records what it removed in the audit
// log. A Temporal Schedule starts it daily (privacy/retention-schedule.ts); POST /v1/privacy/purge starts it on
// demand. The classes are listed in privacy/retention-classes.ts, the rules per class live in
// privacy/retention.ts; this file only decides the order.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  RETENTION_CLASSES,
  type RetentionPurgeInput,
  type RetentionPurgeResult,
  type RetentionPurgeWorkflow,
} from '../privacy/retention-classes.js';

/** Calls per class before giving up for today: each call deletes for up to 20 s. */
const MAX_CALLS_PER_CLASS = 200;

// Our own database and object store: a batch is quick, so a call heartbeats often and a lost worker is noticed fast.
const purge = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: 10 },
});

export const retentionPurge: RetentionPurgeWorkflow = async function retentionPurge(
  input: RetentionPurgeInput = {},
): Promise<RetentionPurgeResult> {
  // Workflow time: one cutoff for every call of this purge, the same on replay.
  const nowMs = Date.now();
  const result: RetentionPurgeResult = { deleted: {}, skipped: [] };
  for (const dataClass of input.classes ?? RETENTION_CLASSES) {
    let deleted = 0;
    for (let call = 0; call < MAX_CALLS_PER_CLASS; call += 1) {
      const progress = await purge.purgeExpired.executeWithOptions(
        { summary: `purge expired ${dataClass}${call > 0 ? ` (batch ${call + 1})` : ''}` },
        [{ dataClass, nowMs }],
      );
      if (progress.skipped) result.skipped.push(dataClass);
      deleted += progress.deleted;
      if (progress.done) break;
    }
    if (!result.skipped.includes(dataClass)) result.deleted[dataClass] = deleted;
  }
  await purge.recordRetentionPurge.executeWithOptions({ summary: 'record the purge in the audit log' }, [
    { trigger: input.trigger ?? 'unknown', result },
  ]);
  return result;
};
