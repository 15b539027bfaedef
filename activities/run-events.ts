// Appends to a run's event log from inside an activity: reads the workflow id from the activity context and
// hands over to runs/run-events.ts, which owns the log and its dedupe key format.
import { Context } from '@temporalio/activity';
import type { Database } from '../db/client.js';
import { appendRunEvent, type RunEventType } from '../runs/run-events.js';

export async function recordRunEvent(
  db: Database,
  type: RunEventType,
  data: Record<string, unknown>,
  options: { workflowId?: string; dedupeSuffix?: string } = {},
): Promise<void> {
  const workflowId = options.workflowId ?? Context.current().info.workflowExecution?.workflowId ?? 'standalone';
  await appendRunEvent(db, workflowId, type, data, { dedupeSuffix: options.dedupeSuffix });
}
