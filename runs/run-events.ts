// Appends to a run's event log (`run_events`), which streaming clients follow (run-event-feed.ts). Each event has
// one dedupe key, `<workflow id>:<type>:<suffix>`, so an activity retried or an event recorded by the door and by
// the run alike is stored once. The workflow id is always given: this module knows nothing of Temporal.
import { createHash } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { encodeKeyPart } from '../core/key-encoding.js';
import type { Database } from '../db/client.js';
import { type AlongsideWrite, preparedPerDatabase } from '../db/prepared.js';
import { runEvents } from '../db/schema.js';

export type RunEventType = 'accepted' | 'step' | 'intent' | 'tool' | 'progress' | 'reply' | 'refused';

/**
 * The one dedupe key format of the run-event log. Injective: the suffix is encoded (core/key-encoding.ts) and the
 * type is a fixed word, neither holds a `:`, so the key splits from the right one way only; the workflow id (which
 * does hold `:`) is what remains. Safe-character suffixes (`reply`, `recordInbound`) are written as they were.
 * A long encoded suffix (a progress notice's text) is replaced by `#` and its SHA-256, keeping the unique index's
 * entries small; `#` never occurs in an encoded part, so the two forms cannot meet.
 */
export function runEventDedupeKey(workflowId: string, type: RunEventType, suffix: string): string {
  const encoded = encodeKeyPart(suffix);
  const part = encoded.length <= MAX_SUFFIX ? encoded : `#${createHash('sha256').update(encoded).digest('hex')}`;
  return `${workflowId}:${type}:${part}`;
}

const MAX_SUFFIX = 200;

/**
 * Appends one event unless its key was recorded before. `dedupeSuffix` tells apart events of one type within a
 * run (default: the `step` field of the data, or nothing). Resolves to the new event's id, or undefined when the
 * event was already there.
 */
export async function appendRunEvent(
  db: Database,
  workflowId: string,
  type: RunEventType,
  data: Record<string, unknown>,
  options: { dedupeSuffix?: string; lookFirst?: boolean } = {},
): Promise<number | undefined> {
  const event = runEventRow(workflowId, type, data, options);
  // A conflicting insert would spend a sequence id, and a gap holds streams back (run-event-log.ts): callers
  // that expect redeliveries look before they insert.
  if (options.lookFirst && (await isRecorded(db, event.dedupeKey))) return undefined;
  const [inserted] = await insertEvent(db).execute(eventValues(event));
  return inserted?.id;
}

/** One event as the log stores it. */
export interface RunEventRow {
  workflowId: string;
  dedupeKey: string;
  type: RunEventType;
  data: Record<string, unknown>;
}

/** The event's row, its dedupe key made from the type and the suffix (default: the data's `step`). */
export function runEventRow(
  workflowId: string,
  type: RunEventType,
  data: Record<string, unknown>,
  options: { dedupeSuffix?: string } = {},
): RunEventRow {
  const dedupeKey = runEventDedupeKey(workflowId, type, options.dedupeSuffix ?? String(data['step'] ?? ''));
  return { workflowId, dedupeKey, type, data };
}

/**
 * The insert appendRunEvent makes, as a write another module's statement carries (`db.with(...)`): a step whose
 * last write can take it records the event in that statement, one round trip for both, with the same dedupe key.
 */
export function runEventAlongside(event: RunEventRow): AlongsideWrite {
  return { name: 'run_event', cte: (db) => db.$with('run_event').as(eventInsert(db)), values: eventValues(event) };
}

// The event's values are placeholders named `event_*`, so that the statements carrying the event keep theirs.
const eventInsert = (db: Database) =>
  db
    .insert(runEvents)
    .values({
      workflowId: sql.placeholder('event_workflow_id'),
      dedupeKey: sql.placeholder('event_dedupe_key'),
      type: sql.placeholder('event_type'),
      data: sql.placeholder('event_data'),
    })
    .onConflictDoNothing()
    .returning({ id: runEvents.id });

const eventValues = (event: RunEventRow) => ({
  event_workflow_id: event.workflowId,
  event_dedupe_key: event.dedupeKey,
  event_type: event.type,
  event_data: event.data,
});

const insertEvent = preparedPerDatabase((db) => eventInsert(db).prepare('insert_run_event'));

/** Whether the run recorded this event already (for a retried step that must not count twice). */
export async function hasRunEvent(
  db: Database,
  workflowId: string,
  type: RunEventType,
  suffix: string,
): Promise<boolean> {
  return isRecorded(db, runEventDedupeKey(workflowId, type, suffix));
}

const findEvent = preparedPerDatabase((db) =>
  db
    .select({ id: runEvents.id })
    .from(runEvents)
    .where(eq(runEvents.dedupeKey, sql.placeholder('dedupe_key')))
    .prepare('find_run_event'),
);

async function isRecorded(db: Database, dedupeKey: string): Promise<boolean> {
  const [seen] = await findEvent(db).execute({ dedupe_key: dedupeKey });
  return seen !== undefined;
}

/** Removes one event by id: the door's 'accepted' when the run it announced could not be started. */
export async function removeRunEvent(db: Database, id: number): Promise<void> {
  await db.delete(runEvents).where(eq(runEvents.id, id));
}
