// Follows runs through the `run_events` log for streaming clients (WebSocket, gRPC WatchRun): polls the database
// (PostgreSQL and PGlite alike), hands out each event once and in id order, and ends a run after its reply.
// Knows the table and nothing of any transport.
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
/** Temporal describe calls one follower has in flight at most (a resume may name many runs). */
const MAX_OPEN_CHECKS = 8;

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

/** The most runs one resume follows; the newest are kept (a key with thousands of runs that failed without a reply). */
export const MAX_RESUMED_RUNS = 1000;

/**
 * The runs a client of `owner` (an API key id) on `channel` was following when it last saw event `afterId`, so
 * a reconnect with only that id follows them again: every run the key started there that had not replied by
 * then. That covers runs that replied since (their missing events are replayed), runs still working or parked
 * with nothing recorded since (they are followed until their reply), and runs accepted after the id. Runs that
 * closed without a reply are in it too; the follower drops them once Temporal says they are closed (confirmOpen).
 */
export async function runsFollowedAt(
  db: Database,
  owner: string,
  channel: string,
  afterId: number,
  limit = MAX_RESUMED_RUNS,
): Promise<string[]> {
  const reply = alias(runEvents, 'reply');
  const rows = await db
    .select({ workflowId: runEvents.workflowId })
    .from(runEvents)
    .where(
      and(
        eq(runEvents.type, 'accepted'),
        sql`${runEvents.data}->>'owner' = ${owner}`,
        sql`${runEvents.data}->>'channel' = ${channel}`,
        notExists(
          db
            .select({ id: reply.id })
            .from(reply)
            .where(
              and(eq(reply.workflowId, runEvents.workflowId), eq(reply.type, FINAL_EVENT_TYPE), lte(reply.id, afterId)),
            ),
        ),
      ),
    )
    .orderBy(desc(runEvents.id))
    .limit(limit);
  // Oldest first, so their events come out in the order they happened.
  return [...new Set(rows.map((row) => row.workflowId))].reverse();
}

export interface RunEventFollowerOptions {
  /** Called once per event, in id order per run. */
  onEvent(event: RunEvent): void;
  /** Called when a run is no longer followed: after its reply, or once it closed without one. */
  onRunEnd?(workflowId: string, reason: 'replied' | 'closed'): void;
  /** Whether a run may still record events; asked for runs quiet for `closedCheckMs`. Unset: runs end at their reply only. */
  isRunOpen?(workflowId: string): Promise<boolean>;
  onError?(error: unknown): void;
  /**
   * Asked before each read and each event: false holds delivery back while the client is behind (its send buffer
   * is full). Nothing is lost: the events stay in the log and are read again once it answers true.
   */
  canDeliver?(): boolean;
  pollMs?: number;
  settleMs?: number;
  closedCheckMs?: number;
}

export interface FollowOptions {
  /**
   * Ask at once whether the run is still open, instead of after `closedCheckMs` of quiet: for a resume, which may
   * name runs that closed long ago without a reply and would otherwise be followed for nothing.
   */
  confirmOpen?: boolean;
}

export interface RunEventFollower {
  /** Follows a run from after `afterId` (0: from its first event). A run already followed keeps its cursor. */
  follow(workflowId: string, afterId?: number, options?: FollowOptions): void;
  /** Runs still followed. */
  readonly size: number;
  close(): void;
}

interface Followed {
  cursor: number;
  /** When the run last yielded an event, or was asked about and found open. */
  lastActivity: number;
  /** Ask whether the run is open at the next chance, however recently it was active (FollowOptions.confirmOpen). */
  confirm?: boolean;
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
  let checksInFlight = 0;

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

  const canDeliver = () => options.canDeliver?.() ?? true;

  async function tick() {
    polling = true;
    let more = false;
    try {
      more = await deliverNextPage();
      failures = 0;
    } catch (error) {
      failures += 1;
      options.onError?.(error);
    } finally {
      polling = false;
    }
    schedule(more ? 0 : pollMs * Math.min(2 ** failures, 40));
  }

  /** Hands out the next page of events; true when more are waiting to be read at once. */
  async function deliverNextPage(): Promise<boolean> {
    // A client that is behind is left alone (no read) until it caught up.
    if (!canDeliver()) return false;
    const cursors = new Map([...runs].map(([id, run]) => [id, run.cursor]));
    const page = await readRunEvents(db, cursors, settleMs);
    const now = Date.now();
    for (const event of page.events) {
      if (closed) return false;
      // The rest of the page is read again once the client caught up.
      if (!canDeliver()) return false;
      const run = runs.get(event.workflowId);
      if (!run || event.id <= run.cursor) continue;
      run.cursor = event.id;
      run.lastActivity = now;
      options.onEvent(event);
      if (event.type === FINAL_EVENT_TYPE) end(event.workflowId, 'replied');
    }
    // Only once every event read is out: a closed run must not end with events still to hand out.
    if (!page.more) checkClosedRuns(now);
    return page.more;
  }

  function checkClosedRuns(now: number) {
    const isRunOpen = options.isRunOpen;
    if (!isRunOpen) return;
    for (const [workflowId, run] of runs) {
      if (run.closedAt !== undefined) {
        // Late commits get the settle time; a closed run still yielding events (a long replay) is kept until it is done.
        if (now - Math.max(run.closedAt, run.lastActivity) > settleMs + pollMs) end(workflowId, 'closed');
        continue;
      }
      if (run.checking || checksInFlight >= MAX_OPEN_CHECKS) continue;
      if (!run.confirm && now - run.lastActivity < closedCheckMs) continue;
      run.confirm = false;
      run.checking = true;
      checksInFlight += 1;
      isRunOpen(workflowId)
        .then((open) => {
          if (open) run.lastActivity = Date.now();
          else run.closedAt = Date.now();
        })
        .catch((error) => options.onError?.(error))
        .finally(() => {
          run.checking = false;
          checksInFlight -= 1;
        });
    }
  }

  return {
    follow(workflowId, afterId = 0, followOptions = {}) {
      if (closed || runs.has(workflowId)) return;
      runs.set(workflowId, { cursor: afterId, lastActivity: Date.now(), confirm: followOptions.confirmOpen });
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
