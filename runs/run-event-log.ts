// Reads the `run_events` log for streaming clients (WebSocket, gRPC WatchRun): the events after a cursor that are
// safe to hand out (PostgreSQL commits ids out of order), and which runs a resuming client was following.
// Knows the table and nothing of any transport; run-event-feed.ts follows runs with it.
import { and, asc, desc, eq, gt, lt, lte, notExists, or, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Database } from '../db/client.js';
import { runEvents } from '../db/schema.js';

export interface RunEvent {
  id: number;
  workflowId: string;
  type: string;
  data: unknown;
  /** ISO-8601 time the event was recorded. */
  at: string;
}

/** The last event of a run: the answer went out. A refusal is followed by its reply too. */
export const FINAL_EVENT_TYPE = 'reply';

/** How long an insert may take to commit at most; ids older than this are final. */
export const DEFAULT_SETTLE_MS = 2000;
const PAGE_SIZE = 500;

/**
 * Reads the events after each run's cursor that are safe to hand out. Ids come from one sequence but commit in
 * any order, so an event is only returned once every smaller id is committed or is older than `settleMs` (a
 * gap that old is a rolled back or conflicting insert, never a late event). Ordered by id.
 */
export async function readRunEvents(
  db: Database,
  cursors: ReadonlyMap<string, number>,
  settleMs = DEFAULT_SETTLE_MS,
): Promise<{ events: RunEvent[]; more: boolean }> {
  if (cursors.size === 0) return { events: [], more: false };
  const rows = await db
    .select()
    .from(runEvents)
    .where(
      or(
        ...[...cursors].map(([workflowId, after]) =>
          and(eq(runEvents.workflowId, workflowId), gt(runEvents.id, after)),
        ),
      ),
    )
    .orderBy(asc(runEvents.id))
    .limit(PAGE_SIZE);
  const last = rows.at(-1);
  if (!last) return { events: [], more: false };

  const [settledRow] = await db
    .select({ id: runEvents.id })
    .from(runEvents)
    .where(lt(runEvents.at, sql`now() - make_interval(secs => ${settleMs / 1000})`))
    .orderBy(desc(runEvents.id))
    .limit(1);
  let firstGap = (settledRow?.id ?? 0) + 1;
  if (last.id >= firstGap) {
    const recent = await db
      .select({ id: runEvents.id })
      .from(runEvents)
      .where(and(gt(runEvents.id, firstGap - 1), lte(runEvents.id, last.id)))
      .orderBy(asc(runEvents.id));
    for (const { id } of recent) {
      if (id !== firstGap) break;
      firstGap += 1;
    }
  }
  const events = rows
    .filter((row) => row.id < firstGap)
    .map((row) => ({
      id: row.id,
      workflowId: row.workflowId,
      type: row.type,
      data: row.data,
      at: row.at.toISOString(),
    }));
  return { events, more: rows.length === PAGE_SIZE && events.length === rows.length };
}

export async function hasRunEvents(db: Database, workflowId: string): Promise<boolean> {
  const rows = await db
    .select({ id: runEvents.id })
    .from(runEvents)
    .where(eq(runEvents.workflowId, workflowId))
    .limit(1);
  return rows.length > 0;
}

/** How many of an API key's newest runs on a channel a resume looks at (a key may have started millions). */
export const MAX_RESUMED_RUNS = 1000;

/**
 * The runs a client of `owner` (an API key id) on `channel` was following when it last saw event `afterId`, so
 * a reconnect with only that id follows them again: every run the key started there that had not replied by
 * then, among its newest `limit`. That covers runs that replied since (their missing events are replayed), runs
 * still working or parked with nothing recorded since (they are followed until their reply), and runs accepted
 * after the id. Runs that closed without a reply are in it too; the follower drops them once Temporal says they
 * are closed (confirmOpen). The newest first are read from the run_events_accepted_owner index, so a resume
 * costs the same however long the key's history is.
 */
export async function runsFollowedAt(
  db: Database,
  owner: string,
  channel: string,
  afterId: number,
  limit = MAX_RESUMED_RUNS,
): Promise<string[]> {
  const newest = db
    .select({ workflowId: runEvents.workflowId, id: runEvents.id })
    .from(runEvents)
    .where(
      and(
        eq(runEvents.type, 'accepted'),
        sql`(${runEvents.data}->>'owner') = ${owner}`,
        sql`(${runEvents.data}->>'channel') = ${channel}`,
      ),
    )
    .orderBy(desc(runEvents.id))
    .limit(limit)
    .as('newest');
  const reply = alias(runEvents, 'reply');
  const rows = await db
    .select({ workflowId: newest.workflowId })
    .from(newest)
    .where(
      notExists(
        db
          .select({ id: reply.id })
          .from(reply)
          .where(
            and(eq(reply.workflowId, newest.workflowId), eq(reply.type, FINAL_EVENT_TYPE), lte(reply.id, afterId)),
          ),
      ),
    )
    // Oldest first, so their events come out in the order they happened.
    .orderBy(asc(newest.id));
  return [...new Set(rows.map((row) => row.workflowId))];
}

/**
 * The principal whose stream client started the run (its 'accepted' event's `owner`, accept-message.ts), or
 * undefined: a run not started by a following client, or no such run.
 */
export async function runOwner(db: Database, workflowId: string): Promise<string | undefined> {
  const [row] = await db
    .select({ owner: sql<string | null>`${runEvents.data}->>'owner'` })
    .from(runEvents)
    .where(and(eq(runEvents.workflowId, workflowId), eq(runEvents.type, 'accepted')))
    .limit(1);
  return row?.owner ?? undefined;
}
