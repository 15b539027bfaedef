// The retention purge's side effects: delete one data class's expired rows or objects for a while (heartbeating
// after every batch), and write the purge's summary to the audit log.
import { Context } from '@temporalio/activity';
import { appendAudit } from '../audit/chain.js';
import { type PurgeProgress, purgeExpired } from '../privacy/retention.js';
import type { RetentionClass, RetentionPurgeResult } from '../privacy/retention-classes.js';
import type { ActivityDeps } from './deps.js';

export function createRetentionActivities({ db, blobs, config, logger }: ActivityDeps) {
  const retentionDays = config.privacy.retentionDays;
  return {
    async purgeExpired(input: { dataClass: RetentionClass; nowMs: number }): Promise<PurgeProgress> {
      const context = Context.current();
      const progress = await purgeExpired({ db, blobs, retentionDays }, input.dataClass, {
        nowMs: input.nowMs,
        onBatch: (deleted) => context.heartbeat(deleted),
      });
      if (progress.deleted > 0) logger.info({ dataClass: input.dataClass, ...progress }, 'retention purge');
      return progress;
    },

    async recordRetentionPurge(input: { trigger: string; result: RetentionPurgeResult }): Promise<void> {
      await appendAudit(db, {
        actor: 'system:retention',
        action: 'retention.purge',
        detail: { trigger: input.trigger, ...input.result, retentionDays },
      });
    },
  };
}
