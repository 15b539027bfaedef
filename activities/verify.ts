// The verify step (runs/verify-sender.ts decides), with its outcome in the run's event log.
import type { InboundMessage } from '../core/message.js';
import { type VerifyOutcome, verifySender } from '../runs/verify-sender.js';
import type { ActivityDeps } from './deps.js';
import { recordRunEvent } from './run-events.js';

export function createVerifyActivities({ config, db }: ActivityDeps) {
  const rules = config.pipeline;
  return {
    async verifySender(input: { message: InboundMessage; runStartedAtMs?: number }): Promise<VerifyOutcome> {
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
