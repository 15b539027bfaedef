// Retention: what each data class holds and how old its rows may get (RETENTION_*_DAYS). purgeExpired deletes
// one class's expired rows in small batches (a batch is one short statement, so a purge never holds long locks
// against the pipeline) until a time budget runs out; the retentionPurge workflow calls it until it reports done.
import { and, lt, ne, type SQL, sql } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { purgeAuditBefore } from '../audit/chain.js';
import type { Database } from '../db/client.js';
import { jobs, memories, messages, rateWindows, replyOutbox, runEvents, runs } from '../db/schema.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { RetentionClass } from './retention-classes.js';
import type { PrivacySettings } from './settings.js';

const DAY_MS = 86_400_000;
/** Object-store prefixes that hold conversation content: offloaded message texts and memory snapshots. */
export const CONTENT_PREFIXES = ['messages/', 'memory/'] as const;
/** Object deletions sent at once: enough to keep a remote store busy, few enough not to flood it. */
const BLOB_DELETES_IN_FLIGHT = 16;
/** Rate-limit counters matter for a minute; a day later they are only a record of who wrote when. */
const RATE_WINDOW_KEEP_MS = DAY_MS;

export interface PurgeDeps {
  db: Database;
  blobs: BlobStore;
  retentionDays: PrivacySettings['retentionDays'];
}

export interface PurgeProgress {
  deleted: number;
  /** False when the time budget ran out first: call again. */
  done: boolean;
  /** Set when the class has no retention period (kept forever). */
  skipped?: boolean;
}

export interface PurgeOptions {
  /** The purge's reference time (the workflow's start), so every call of one purge uses one cutoff. */
  nowMs: number;
  batchSize?: number;
  budgetMs?: number;
  /** Called after every batch (the activity heartbeats). */
  onBatch?: (deleted: number) => void;
}

/** Rows of one table matching a condition: removed a batch at a time by their physical row id. */
interface TablePurge {
  table: PgTable;
  where: SQL;
}

export async function purgeExpired(
  deps: PurgeDeps,
  dataClass: RetentionClass,
  options: PurgeOptions,
): Promise<PurgeProgress> {
  const days = dataClass === 'rateWindows' ? RATE_WINDOW_KEEP_MS / DAY_MS : deps.retentionDays[dataClass];
  if (days === undefined) return { deleted: 0, done: true, skipped: true };
  const cutoff = new Date(options.nowMs - days * DAY_MS);
  const batchSize = options.batchSize ?? 1000;
  const deadline = Date.now() + (options.budgetMs ?? 20_000);
  switch (dataClass) {
    case 'audit':
      // One transaction: the purge row and the cut it vouches for must appear together.
      return { deleted: await purgeAuditBefore(deps.db, cutoff, 'system:retention'), done: true };
    case 'blobs':
      return purgeBlobs(deps.blobs, cutoff, deadline, options.onBatch);
    default:
      return purgeTables(deps.db, tablesOf(dataClass, cutoff), batchSize, deadline, options.onBatch);
  }
}

function tablesOf(dataClass: 'messages' | 'runEvents' | 'rateWindows', cutoff: Date): TablePurge[] {
  switch (dataClass) {
    case 'messages':
      // Transcripts and everything that repeats their content: replies in the outbox, finished runs (sender,
      // reply target), finished jobs (reminder texts), and summaries of conversations idle since the cutoff.
      return [
        { table: messages, where: lt(messages.createdAt, cutoff) },
        { table: replyOutbox, where: lt(replyOutbox.createdAt, cutoff) },
        { table: runs, where: and(lt(runs.startedAt, cutoff), ne(runs.status, 'running'))! },
        { table: jobs, where: and(lt(jobs.updatedAt, cutoff), ne(jobs.status, 'pending'))! },
        { table: memories, where: lt(memories.updatedAt, cutoff) },
      ];
    case 'runEvents':
      return [{ table: runEvents, where: lt(runEvents.at, cutoff) }];
    case 'rateWindows':
      return [{ table: rateWindows, where: lt(rateWindows.windowStart, cutoff) }];
  }
}

async function purgeTables(
  db: Database,
  targets: TablePurge[],
  batchSize: number,
  deadline: number,
  onBatch?: (deleted: number) => void,
): Promise<PurgeProgress> {
  let deleted = 0;
  for (const { table, where } of targets) {
    for (;;) {
      const removed = await deleteBatch(db, table, where, batchSize);
      deleted += removed;
      onBatch?.(deleted);
      if (removed < batchSize) break;
      if (Date.now() > deadline) return { deleted, done: false };
    }
  }
  return { deleted, done: true };
}

/** Up to `limit` matching rows, chosen and removed by ctid in one statement (PostgreSQL and PGlite alike). */
export async function deleteBatch(db: Database, table: PgTable, where: SQL, limit: number): Promise<number> {
  const removed = await db
    .delete(table)
    .where(sql`ctid = any(array(select ctid from ${table} where ${where} limit ${limit}))`)
    .returning({ one: sql<number>`1` });
  return removed.length;
}

async function purgeBlobs(
  blobs: BlobStore,
  cutoff: Date,
  deadline: number,
  onBatch?: (deleted: number) => void,
): Promise<PurgeProgress> {
  let deleted = 0;
  for (const prefix of CONTENT_PREFIXES) {
    const expired = (await blobs.listEntries(prefix)).filter((entry) => entry.lastModified < cutoff);
    for (let start = 0; start < expired.length; start += BLOB_DELETES_IN_FLIGHT) {
      const batch = expired.slice(start, start + BLOB_DELETES_IN_FLIGHT);
      await Promise.all(batch.map((entry) => blobs.delete(entry.key)));
      deleted += batch.length;
      onBatch?.(deleted);
      if (Date.now() > deadline && start + batch.length < expired.length) return { deleted, done: false };
    }
  }
  return { deleted, done: true };
}
