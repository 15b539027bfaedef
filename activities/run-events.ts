// Appends to a run's event log from inside an activity (the workflow id comes from the activity context),
// so streaming clients can follow a run without the workflow paying an extra round trip per event.
import { Context } from '@temporalio/activity';
import type { Database } from '../db/client.js';
import { runEvents } from '../db/schema.js';

export type RunEventType = 'accepted' | 'step' | 'intent' | 'tool' | 'progress' | 'reply' | 'refused';

export async function recordRunEvent(
  db: Database,
  type: RunEventType,
  data: Record<string, unknown>,
  options: { workflowId?: string; dedupeSuffix?: string } = {},
): Promise<void> {
  const workflowId = options.workflowId ?? Context.current().info.workflowExecution?.workflowId ?? 'standalone';
  const dedupeKey = `${workflowId}:${type}:${options.dedupeSuffix ?? String(data['step'] ?? '')}`;
  await db.insert(runEvents).values({ workflowId, dedupeKey, type, data }).onConflictDoNothing();
}
