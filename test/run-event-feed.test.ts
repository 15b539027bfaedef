// The run-event feed on real PostgreSQL, where ids can commit out of order: an event is never handed out before a
// smaller id that may still commit, a gap that can no longer fill stops holding events back, and a follower
// delivers each event once and ends the run after its reply.
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openDatabase } from '../db/client.js';
import { runEvents } from '../db/schema.js';
import { followRunEvents, type RunEvent, readRunEvents, runsFollowedAt } from '../runs/run-event-feed.js';
import { eventually } from './support/platform.js';
import { createTestDatabase } from './support/postgres.js';

let database: DatabaseHandle;
let scratch: { url: string; drop(): Promise<void> } | undefined;

// A database of its own: the feed holds events back behind any recent gap in the id sequence, and the shared test
// database has gaps from every other file's concurrent inserts, which would make "held back" a matter of timing.
beforeAll(async () => {
  scratch = await createTestDatabase(() => undefined);
  database = await openDatabase({ kind: 'postgres', url: scratch.url });
});
afterAll(async () => {
  await database?.close();
  await scratch?.drop();
});

const unique = (prefix: string) => `${prefix}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;

async function append(workflowId: string, type: string, data: Record<string, unknown> = {}) {
  const [row] = await database.db
    .insert(runEvents)
    .values({ workflowId, dedupeKey: unique(`${workflowId}:${type}`), type, data })
    .returning({ id: runEvents.id });
  return row!.id;
}

/** Starts an insert whose transaction stays open until `commit` or `rollback` is called. */
function openInsert(workflowId: string, type: string) {
  let finish!: (outcome: 'commit' | 'rollback') => void;
  const decided = new Promise<'commit' | 'rollback'>((resolve) => {
    finish = resolve;
  });
  let inserted!: (id: number) => void;
  const id = new Promise<number>((resolve) => {
    inserted = resolve;
  });
  const done = database.db
    .transaction(async (tx) => {
      const [row] = await tx
        .insert(runEvents)
        .values({ workflowId, dedupeKey: unique(`${workflowId}:${type}`), type, data: {} })
        .returning({ id: runEvents.id });
      inserted(row!.id);
      if ((await decided) === 'rollback') tx.rollback();
    })
    .catch((error: unknown) => {
      if (!(error instanceof Error && /rollback/i.test(error.message))) throw error;
    });
  return {
    id,
    commit: async () => {
      finish('commit');
      await done;
    },
    rollback: async () => {
      finish('rollback');
      await done;
    },
  };
}

describe('readRunEvents', () => {
  it('holds an event back while a smaller id of the same run may still commit', async () => {
    const workflowId = unique('wf-order');
    const first = await append(workflowId, 'accepted');
    const late = openInsert(workflowId, 'step');
    const lateId = await late.id;
    const after = await append(workflowId, 'reply');
    expect(after).toBeGreaterThan(lateId);

    const cursors = new Map([[workflowId, 0]]);
    const whileOpen = await readRunEvents(database.db, cursors, 60_000);
    expect(whileOpen.events.map((event) => event.id)).toEqual([first]);

    await late.commit();
    const committed = await readRunEvents(database.db, cursors, 60_000);
    expect(committed.events.map((event) => event.id)).toEqual([first, lateId, after]);
  });

  it('stops holding events back once a gap is older than the settle time', async () => {
    const workflowId = unique('wf-gap');
    const lost = openInsert(workflowId, 'step');
    await lost.id;
    const after = await append(workflowId, 'reply');
    await lost.rollback();

    const cursors = new Map([[workflowId, 0]]);
    expect((await readRunEvents(database.db, cursors, 60_000)).events).toEqual([]);
    const settled = await eventually(
      async () => {
        const { events } = await readRunEvents(database.db, cursors, 300);
        return events.length > 0 ? events : undefined;
      },
      10_000,
      'the event after the gap',
    );
    expect(settled.map((event) => event.id)).toEqual([after]);
  });
});

describe('followRunEvents', () => {
  it('delivers each event once, in order, after the cursor, and ends the run after its reply', async () => {
    const workflowId = unique('wf-follow');
    const other = unique('wf-other');
    const skipped = await append(workflowId, 'accepted');
    const seen: RunEvent[] = [];
    const ended: string[] = [];
    const follower = followRunEvents(database.db, {
      onEvent: (event) => seen.push(event),
      onRunEnd: (id, reason) => ended.push(`${id}:${reason}`),
      pollMs: 20,
    });
    try {
      follower.follow(workflowId, skipped);
      await append(other, 'step', { step: 'verify' });
      const step = await append(workflowId, 'step', { step: 'verify' });
      const reply = await append(workflowId, 'reply', { text: 'hi' });
      await eventually(async () => (ended.length > 0 ? true : undefined), 10_000, 'the run to end');
      await append(workflowId, 'progress');
      // A few more polls: nothing after the reply, nothing twice, nothing of another run.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(seen.map((event) => event.id)).toEqual([step, reply]);
      expect(seen[1]).toMatchObject({ workflowId, type: 'reply', data: { text: 'hi' } });
      expect(ended).toEqual([`${workflowId}:replied`]);
      expect(follower.size).toBe(0);
      const recorded = await database.db
        .select({ id: runEvents.id })
        .from(runEvents)
        .where(eq(runEvents.workflowId, workflowId))
        .orderBy(asc(runEvents.id));
      expect(recorded.map((row) => row.id)).toEqual([skipped, step, reply, expect.any(Number)]);
    } finally {
      follower.close();
    }
  });
});

describe('runsFollowedAt', () => {
  it('names the newest runs of an owner and channel that had not replied by the given id', async () => {
    const owner = unique('owner');
    const accepted = (workflowId: string, by = owner, channel = 'ws') =>
      append(workflowId, 'accepted', { owner: by, channel });
    const replied = unique('wf-replied');
    const working = unique('wf-working');
    const repliedLater = unique('wf-replied-later');
    await accepted(replied);
    await append(replied, 'reply');
    await accepted(working);
    await append(working, 'step', { step: 'intent' });
    await accepted(repliedLater);
    await accepted(unique('wf-other-owner'), unique('owner'));
    await accepted(unique('wf-other-channel'), owner, 'grpc');
    const lastSeen = await append(repliedLater, 'step', { step: 'plan' });
    const laterReply = await append(repliedLater, 'reply');
    const startedSince = unique('wf-started-since');
    await accepted(startedSince);

    expect(await runsFollowedAt(database.db, owner, 'ws', lastSeen)).toEqual([working, repliedLater, startedSince]);
    expect(await runsFollowedAt(database.db, owner, 'ws', 0)).toEqual([replied, working, repliedLater, startedSince]);
    // Only the key's newest runs are looked at: with two, the older run still working is out of reach.
    expect(await runsFollowedAt(database.db, owner, 'ws', lastSeen, 2)).toEqual([repliedLater, startedSince]);
    expect(await runsFollowedAt(database.db, owner, 'ws', laterReply, 2)).toEqual([startedSince]);
  });
});

describe('followRunEvents with confirmOpen', () => {
  it('stops following a closed run at once, but only after handing out what it still had', async () => {
    const closedRun = unique('wf-closed');
    const first = await append(closedRun, 'accepted');
    const second = await append(closedRun, 'step', { step: 'verify' });
    const seen: number[] = [];
    const ended: string[] = [];
    const follower = followRunEvents(database.db, {
      onEvent: (event) => seen.push(event.id),
      onRunEnd: (id, reason) => ended.push(`${id}:${reason}`),
      isRunOpen: async () => false,
      pollMs: 20,
      settleMs: 200,
      closedCheckMs: 60_000,
    });
    try {
      const started = Date.now();
      follower.follow(closedRun, 0, { confirmOpen: true });
      await eventually(async () => (ended.length > 0 ? true : undefined), 5_000, 'the closed run to end');
      // Without confirmOpen it would wait for closedCheckMs of quiet first.
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(seen).toEqual([first, second]);
      expect(ended).toEqual([`${closedRun}:closed`]);
    } finally {
      follower.close();
    }
  });
});

describe('followers sharing one poller', () => {
  it('hands each follower the events past its own cursor, and holds back only the one that is behind', async () => {
    const workflowId = unique('wf-shared');
    const accepted = await append(workflowId, 'accepted');
    const step = await append(workflowId, 'step', { step: 'verify' });
    const early: number[] = [];
    const late: number[] = [];
    let lateMayRead = false;
    const options = { pollMs: 20, isRunOpen: async () => true };
    const fromStart = followRunEvents(database.db, { ...options, onEvent: (event) => early.push(event.id) });
    const behind = followRunEvents(database.db, {
      ...options,
      onEvent: (event) => late.push(event.id),
      canDeliver: () => lateMayRead,
    });
    try {
      fromStart.follow(workflowId, 0);
      behind.follow(workflowId, accepted);
      const plan = await append(workflowId, 'step', { step: 'plan' });
      await eventually(async () => (early.length === 3 ? true : undefined), 10_000, 'the first follower');
      expect(early).toEqual([accepted, step, plan]);
      expect(late).toEqual([]);

      lateMayRead = true;
      const reply = await append(workflowId, 'reply');
      await eventually(async () => (late.length === 3 ? true : undefined), 10_000, 'the follower that was behind');
      expect(late).toEqual([step, plan, reply]);
      await eventually(async () => (early.length === 4 ? true : undefined), 10_000, 'the reply');
      expect(early).toEqual([accepted, step, plan, reply]);
      expect(fromStart.size + behind.size).toBe(0);
    } finally {
      fromStart.close();
      behind.close();
    }
  });
});
