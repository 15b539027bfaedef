// Follows runs through the `run_events` log for streaming clients (WebSocket, gRPC WatchRun): polls the database
// (PostgreSQL and PGlite alike), hands out each event once and in id order, and ends a run after its reply.
// Knows the table and nothing of any transport.
import { and, asc, desc, eq, gt, inArray, lt, lte, or, sql } from 'drizzle-orm';
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

/** Runs started by `owner` (an API key id) over `channel` that recorded anything after `afterId`: a reconnect's scope. */
export async function runsActiveAfter(
  db: Database,
  owner: string,
  channel: string,
  afterId: number,
): Promise<string[]> {
  const active = db.select({ workflowId: runEvents.workflowId }).from(runEvents).where(gt(runEvents.id, afterId));
  const rows = await db
    .selectDistinct({ workflowId: runEvents.workflowId })
    .from(runEvents)
    .where(
      and(
        eq(runEvents.type, 'accepted'),
        sql`${runEvents.data}->>'owner' = ${owner}`,
        sql`${runEvents.data}->>'channel' = ${channel}`,
        inArray(runEvents.workflowId, active),
      ),
    );
  return rows.map((row) => row.workflowId);
}

export interface RunEventFollowerOptions {
  /** Called once per event, in id order per run. */
  onEvent(event: RunEvent): void;
  /** Called when a run is no longer followed: after its reply, or once it closed without one. */
  onRunEnd?(workflowId: string, reason: 'replied' | 'closed'): void;
  /** Whether a run may still record events; asked for runs quiet for `closedCheckMs`. Unset: runs end at their reply only. */
  isRunOpen?(workflowId: string): Promise<boolean>;
  onError?(error: unknown): void;
  pollMs?: number;
  settleMs?: number;
  closedCheckMs?: number;
}

export interface RunEventFollower {
  /** Follows a run from after `afterId` (0: from its first event). A run already followed keeps its cursor. */
  follow(workflowId: string, afterId?: number): void;
  /** Runs still followed. */
  readonly size: number;
  close(): void;
}

interface Followed {
  cursor: number;
  lastActivity: number;
  /** Set when the run was found closed; it ends once late commits had time to settle. */
  closedAt?: number;
  checking?: boolean;
}

export function followRunEvents(db: Database, options: RunEventFollowerOptions): RunEventFollower {
  const pollMs = options.pollMs ?? 150;
  const settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
  const closedCheckMs = options.closedCheckMs ?? 5000;
  const runs = new Map<string, Followed>();
  let timer: NodeJS.Timeout | undefined;
  let polling = false;
  let closed = false;
  let failures = 0;

  const schedule = (delay: number) => {
    if (closed || timer || polling || runs.size === 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      void tick();
    }, delay);
  };

  const end = (workflowId: string, reason: 'replied' | 'closed') => {
    if (!runs.delete(workflowId)) return;
    options.onRunEnd?.(workflowId, reason);
  };

  async function tick() {
    polling = true;
    let more = false;
    try {
      const cursors = new Map([...runs].map(([id, run]) => [id, run.cursor]));
      const page = await readRunEvents(db, cursors, settleMs);
      more = page.more;
      failures = 0;
      const now = Date.now();
      for (const event of page.events) {
        if (closed) return;
        const run = runs.get(event.workflowId);
        if (!run || event.id <= run.cursor) continue;
        run.cursor = event.id;
        run.lastActivity = now;
        options.onEvent(event);
        if (event.type === FINAL_EVENT_TYPE) end(event.workflowId, 'replied');
      }
      checkClosedRuns(now);
    } catch (error) {
      failures += 1;
      options.onError?.(error);
    } finally {
      polling = false;
    }
    schedule(more ? 0 : pollMs * Math.min(2 ** failures, 40));
  }

  function checkClosedRuns(now: number) {
    const isRunOpen = options.isRunOpen;
    if (!isRunOpen) return;
    for (const [workflowId, run] of runs) {
      if (run.closedAt !== undefined) {
        if (now - run.closedAt > settleMs + pollMs) end(workflowId, 'closed');
        continue;
      }
      if (run.checking || now - run.lastActivity < closedCheckMs) continue;
      run.checking = true;
      isRunOpen(workflowId)
        .then((open) => {
          if (open) run.lastActivity = Date.now();
          else run.closedAt = Date.now();
        })
        .catch((error) => options.onError?.(error))
        .finally(() => {
          run.checking = false;
        });
    }
  }

  return {
    follow(workflowId, afterId = 0) {
      if (closed || runs.has(workflowId)) return;
      runs.set(workflowId, { cursor: afterId, lastActivity: Date.now() });
      schedule(0);
    },
    get size() {
      return runs.size;
    },
    close() {
      closed = true;
      clearTimeout(timer);
      timer = undefined;
      runs.clear();
    },
  };
}
