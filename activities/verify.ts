// The verify step (runs/verify-sender.ts decides), with its outcome in the run's event log.
import { Context } from '@temporalio/activity';
import type { InboundMessage } from '../core/message.js';
import { type VerifyOutcome, verifySender } from '../runs/verify-sender.js';
import type { ActivityDeps } from './deps.js';
import { recordRunEvent, runEventRecorded } from './run-events.js';

export function createVerifyActivities({ config, db }: ActivityDeps) {
  const rules = config.pipeline;
  return {
    async verifySender(input: { message: InboundMessage; runStartedAtMs?: number }): Promise<VerifyOutcome> {
      // Verify counts the message in the sender's rate windows. A retried step that let the sender in before (in
      // generation 3 it shares its activity with parse, which may have failed after it) must not count it again,
      // and could then refuse a message it already let in.
      if (Context.current().info.attempt > 1 && (await runEventRecorded(db, 'step', 'verify')))
        return { allowed: true };
      const outcome = await verifySender({ db, rules }, input);
      await recordRunEvent(
        db,
        outcome.allowed ? 'step' : 'refused',
        outcome.allowed ? { step: 'verify' } : { reason: outcome.reason },
      );
      return outcome;
    },
  };
}
