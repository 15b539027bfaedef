// The runs table: one row per run, written once when the run starts (before verify, so a refused run has its
// row too) and updated once when it finishes. Tools read the run's conversation and sender from it.
import { and, eq, gte, max, sql } from 'drizzle-orm';
import type { ReplyTarget } from '../core/message.js';
import type { Database } from '../db/client.js';
import { placeholderValue, preparedPerDatabase } from '../db/prepared.js';
import { runs } from '../db/schema.js';
import type { IntentResult, RunStatus } from './contract.js';

export interface RunStart {
  workflowId: string;
  channel: string;
  messageId: string;
  /** The conversations-table key (`channel:externalId`). */
  conversationId: string;
  senderId: string;
  replyTarget: ReplyTarget;
}

/** Writes the run's row; false when it was already there (a retried activity, a replayed run). */
export async function recordRunStart(db: Database, run: RunStart): Promise<boolean> {
  const inserted = await insertRun(db).execute({ ...run });
  return inserted.length > 0;
}

const insertRun = preparedPerDatabase((db) =>
  db
    .insert(runs)
    .values({
      workflowId: sql.placeholder('workflowId'),
      channel: sql.placeholder('channel'),
      messageId: sql.placeholder('messageId'),
      conversationId: sql.placeholder('conversationId'),
      senderId: sql.placeholder('senderId'),
      replyTarget: sql.placeholder('replyTarget'),
    })
    .onConflictDoNothing()
    .returning({ workflowId: runs.workflowId })
    .prepare('insert_run'),
);

export type RunOutcome = NonNullable<RunStatus['outcome']>;

/** Marks a running run finished; resolves to its channel, or undefined when it was finished before (a retry). */
export async function recordRunFinish(
  db: Database,
  input: { workflowId: string; outcome: RunOutcome; intent?: IntentResult },
): Promise<string | undefined> {
  const status = input.outcome === 'refused' ? 'refused' : input.outcome === 'failed' ? 'failed' : 'completed';
  const updated = await finishRun(db).execute({
    workflowId: input.workflowId,
    status,
    intent: input.intent?.name ?? null,
    intentConfidence: input.intent?.confidence ?? null,
    completedAt: new Date().toISOString(),
  });
  return updated[0]?.channel;
}

// A run finished without an intent (refused, or failed before one) leaves the intent columns as they are, as the
// update did when it left them out.
const finishRun = preparedPerDatabase((db) =>
  db
    .update(runs)
    .set({
      status: placeholderValue('status'),
      intent: sql`coalesce(${sql.placeholder('intent')}, ${runs.intent})`,
      intentConfidence: sql`coalesce(${sql.placeholder('intentConfidence')}, ${runs.intentConfidence})`,
      completedAt: placeholderValue('completedAt'),
    })
    .where(and(eq(runs.workflowId, sql.placeholder('workflowId')), eq(runs.status, 'running')))
    .returning({ channel: runs.channel })
    .prepare('finish_run'),
);

/** Who a run is for and where it answers; empty for a workflow id with no run row. */
export async function runParticipants(
  db: Database,
  workflowId: string,
): Promise<{ channel?: string; conversationId?: string; userId?: string; replyTarget?: ReplyTarget }> {
  const [run] = await readParticipants(db).execute({ workflowId });
  if (!run) return {};
  return {
    channel: run.channel,
    conversationId: run.conversationId,
    userId: run.userId,
    replyTarget: run.replyTarget ?? undefined,
  };
}

const readParticipants = preparedPerDatabase((db) =>
  db
    .select({
      channel: runs.channel,
      conversationId: runs.conversationId,
      userId: runs.senderId,
      replyTarget: runs.replyTarget,
    })
    .from(runs)
    .where(eq(runs.workflowId, sql.placeholder('workflowId')))
    .prepare('read_run_participants'),
);

/** When each channel's newest run started, among runs started since `since` (the runs_started index bounds it). */
export async function lastRunStartByChannel(db: Database, since: Date): Promise<Map<string, Date>> {
  const rows = await db
    .select({ channel: runs.channel, at: max(runs.startedAt) })
    .from(runs)
    .where(gte(runs.startedAt, since))
    .groupBy(runs.channel);
  return new Map(rows.flatMap((row) => (row.at ? [[row.channel, row.at] as const] : [])));
}
