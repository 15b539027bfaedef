// Follows runs through the `run_events` log for streaming clients (WebSocket, gRPC WatchRun): hands out each event
// once and in id order, and ends a run after its reply. The followers of one process share one poller, so a hundred
// watchers cost one query per poll rather than a hundred. Knows the table (through run-event-log.ts) and nothing
// of any transport.
import type { Database } from '../db/client.js';
import { DEFAULT_SETTLE_MS, FINAL_EVENT_TYPE, type RunEvent, readRunEvents } from './run-event-log.js';

export {
  DEFAULT_SETTLE_MS,
  FINAL_EVENT_TYPE,
  hasRunEvents,
  MAX_RESUMED_RUNS,
  type RunEvent,
  readRunEvents,
  runsFollowedAt,
} from './run-event-log.js';

/** Temporal describe calls one follower has in flight at most (a resume may name many runs). */
const MAX_OPEN_CHECKS = 8;

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
  /** Followers with the same pollMs and settleMs on the same database share one poller. */
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

/** One follower as its poller sees it. */
interface Subscriber {
  readonly runs: ReadonlyMap<string, Followed>;
  readonly closed: boolean;
  canDeliver(): boolean;
  /** Hands out the events of `page` for the runs in `asked`, the runs (and cursors) the page was read for. */
  deliver(events: RunEvent[], asked: ReadonlyMap<string, Followed>, complete: boolean, now: number): void;
  onError(error: unknown): void;
}

interface Poller {
  add(subscriber: Subscriber): void;
  remove(subscriber: Subscriber): void;
  wake(): void;
}

const pollers = new WeakMap<Database, Map<string, Poller>>();

function pollerFor(db: Database, pollMs: number, settleMs: number): Poller {
  let byTiming = pollers.get(db);
  if (!byTiming) {
    byTiming = new Map();
    pollers.set(db, byTiming);
  }
  const key = `${pollMs}:${settleMs}`;
  let poller = byTiming.get(key);
  if (!poller) {
    poller = createPoller(db, pollMs, settleMs);
    byTiming.set(key, poller);
  }
  return poller;
}

/**
 * Reads the events of every followed run in one query per poll, from the smallest cursor any follower has for the
 * run, and hands each follower what is past its own cursor. A follower that is behind (canDeliver false) is
 * left out of the poll, so its backlog is neither read nor held. Stops its timer while nobody follows anything.
 */
function createPoller(db: Database, pollMs: number, settleMs: number): Poller {
  const subscribers = new Set<Subscriber>();
  let timer: NodeJS.Timeout | undefined;
  let polling = false;
  let wakeAfterPoll = false;
  let failures = 0;

  const hasWork = () => [...subscribers].some((subscriber) => subscriber.runs.size > 0);
  const schedule = (delay: number) => {
    if (timer || polling || !hasWork()) return;
    timer = setTimeout(() => {
      timer = undefined;
      void poll();
    }, delay);
  };

  async function poll() {
    polling = true;
    wakeAfterPoll = false;
    let more = false;
    let ready: Array<{ subscriber: Subscriber; asked: Map<string, Followed> }> = [];
    try {
      // What each follower is asked for is fixed now: a run it starts following meanwhile waits for the next poll.
      ready = [...subscribers]
        .filter((subscriber) => !subscriber.closed && subscriber.runs.size > 0 && subscriber.canDeliver())
        .map((subscriber) => ({ subscriber, asked: new Map(subscriber.runs) }));
      const cursors = new Map<string, number>();
      for (const { asked } of ready) {
        for (const [workflowId, run] of asked) {
          cursors.set(workflowId, Math.min(cursors.get(workflowId) ?? Number.POSITIVE_INFINITY, run.cursor));
        }
      }
      const page = await readRunEvents(db, cursors, settleMs);
      more = page.more;
      failures = 0;
      const now = Date.now();
      for (const { subscriber, asked } of ready) {
        // One client's failure (a transport that throws) is its own: the others still get their events.
        try {
          subscriber.deliver(page.events, asked, !page.more, now);
        } catch (error) {
          subscriber.onError(error);
        }
      }
    } catch (error) {
      failures += 1;
      // Reported once, not once per follower: the database failed, not a client.
      ready[0]?.subscriber.onError(error);
    } finally {
      polling = false;
    }
    schedule(more || wakeAfterPoll ? 0 : pollMs * Math.min(2 ** failures, 40));
  }

  return {
    add(subscriber) {
      subscribers.add(subscriber);
    },
    remove(subscriber) {
      subscribers.delete(subscriber);
      if (!hasWork()) {
        clearTimeout(timer);
        timer = undefined;
      }
    },
    wake() {
      if (polling) wakeAfterPoll = true;
      else if (timer) {
        clearTimeout(timer);
        timer = undefined;
        schedule(0);
      } else schedule(0);
    },
  };
}

export function followRunEvents(db: Database, options: RunEventFollowerOptions): RunEventFollower {
  const pollMs = options.pollMs ?? 150;
  const settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
  const closedCheckMs = options.closedCheckMs ?? 5000;
  const poller = pollerFor(db, pollMs, settleMs);
  const runs = new Map<string, Followed>();
  let closed = false;
  let checksInFlight = 0;

  const end = (workflowId: string, reason: 'replied' | 'closed') => {
    if (!runs.delete(workflowId)) return;
    options.onRunEnd?.(workflowId, reason);
  };

  const canDeliver = () => !closed && (options.canDeliver?.() ?? true);

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

  const subscriber: Subscriber = {
    runs,
    get closed() {
      return closed;
    },
    canDeliver,
    deliver(events, asked, complete, now) {
      for (const event of events) {
        // The rest of the page is read again once the client caught up.
        if (!canDeliver()) return;
        const run = runs.get(event.workflowId);
        // Only runs the page was read for, with the cursor it was read from (not one followed again since).
        if (!run || run !== asked.get(event.workflowId) || event.id <= run.cursor) continue;
        run.cursor = event.id;
        run.lastActivity = now;
        options.onEvent(event);
        if (event.type === FINAL_EVENT_TYPE) end(event.workflowId, 'replied');
      }
      // Only once every event read is out: a closed run must not end with events still to hand out.
      if (complete && !closed) checkClosedRuns(now);
    },
    onError: (error) => options.onError?.(error),
  };
  poller.add(subscriber);

  return {
    follow(workflowId, afterId = 0, followOptions = {}) {
      if (closed || runs.has(workflowId)) return;
      runs.set(workflowId, { cursor: afterId, lastActivity: Date.now(), confirm: followOptions.confirmOpen });
      poller.wake();
    },
    get size() {
      return runs.size;
    },
    close() {
      closed = true;
      runs.clear();
      poller.remove(subscriber);
    },
  };
}
