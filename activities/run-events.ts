// Appends to a run's event log from inside an activity: reads the workflow id from the activity context and
// hands over to runs/run-events.ts, which owns the log and its dedupe key format.
import { Context } from '@temporalio/activity';
import type { Database } from '../db/client.js';
import type { AlongsideWrite } from '../db/prepared.js';
import { appendRunEvent, hasRunEvent, type RunEventType, runEventAlongside, runEventRow } from '../runs/run-events.js';

type EventOptions = { workflowId?: string; dedupeSuffix?: string };

const currentWorkflowId = (options: EventOptions) =>
  options.workflowId ?? Context.current().info.workflowExecution?.workflowId ?? 'standalone';

export async function recordRunEvent(
  db: Database,
  type: RunEventType,
  data: Record<string, unknown>,
  options: EventOptions = {},
): Promise<void> {
  await appendRunEvent(db, currentWorkflowId(options), type, data, { dedupeSuffix: options.dedupeSuffix });
}

/** Whether this activity's run recorded the event already (a retried step that must not count twice). */
export function runEventRecorded(db: Database, type: RunEventType, suffix: string, options: EventOptions = {}) {
  return hasRunEvent(db, currentWorkflowId(options), type, suffix);
}

/**
 * The same event as a write another statement carries, for an activity whose last write can take it: the event is
 * then recorded in that write's statement (and its commit), as it was recorded right after it before, in one round
 * trip instead of two.
 */
export function runEventCte(
  type: RunEventType,
  data: Record<string, unknown>,
  options: EventOptions = {},
): AlongsideWrite {
  return runEventAlongside(runEventRow(currentWorkflowId(options), type, data, { dedupeSuffix: options.dedupeSuffix }));
}
