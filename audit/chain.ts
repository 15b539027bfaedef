// The append-only audit log. appendAudit writes one row inside a transaction holding a PostgreSQL advisory lock,
// so writers in every process (API, workers, scripts) extend one chain with gapless sequences and never fork it;
// verifyAuditChain recomputes the chain and names the first row that was altered, removed or reordered. One
// database user can always UPDATE and DELETE, so detection (this file, the metric, npm run audit:verify) is the
// control, not prevention.
import { and, asc, desc, eq, gt, isNotNull, isNull, lt, lte, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { auditLog } from '../db/schema.js';
import { type AuditOutcome, GENESIS_HASH, type HashedAuditFields, hashAuditRow } from './hash.js';

/** pg_advisory_xact_lock key of the audit chain ("audi"): held until the appending transaction ends. */
const AUDIT_LOCK_KEY = 0x61756469;

/** The action of the row a retention purge appends before removing older rows: it vouches for the new start. */
export const PURGE_ACTION = 'audit.purge';

export interface AuditEntry {
  /** Who: `api:<key id>`, `chat:<channel>:<user id>`, `system:<job>`… */
  actor: string;
  /** What, as `<noun>.<verb>`: `api_key.create`, `job.approve`, `privacy.erase`… */
  action: string;
  /** What it was done to: a key id, a job id, `user:<channel>:<id>`… */
  target?: string;
  outcome?: AuditOutcome;
  /** Context as plain JSON; never secrets or message text. */
  detail?: Record<string, unknown>;
}

export type AuditRecord = typeof auditLog.$inferSelect;

export interface ChainHead {
  sequence: number;
  hash: string;
}

export interface AuditVerification {
  ok: boolean;
  /** Rows whose hashes were recomputed. */
  checked: number;
  /** The first row that does not verify (for a removed row, the sequence that is missing). */
  firstBadSequence?: number;
  reason?: string;
  /** The last row checked, when the chain verified: an anchor for the next check. */
  head?: ChainHead;
}

/** Appends one row to the chain; `db` may be a transaction, whose commit then also commits the row. */
export async function appendAudit(db: Database, entry: AuditEntry): Promise<ChainHead> {
  return db.transaction(async (tx) => {
    const tail = await lockChain(tx as unknown as Database);
    return insertRow(tx as unknown as Database, tail, entry);
  });
}

/**
 * Seals rows written before the chain existed (migration 0004 numbered them, unhashed). Only while no row is
 * sealed yet: afterwards an unhashed row is a forgery for verifyAuditChain to report, not something to adopt.
 */
export async function sealLegacyAuditRows(db: Database): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${AUDIT_LOCK_KEY})`);
    return sealLegacy(tx as unknown as Database);
  });
}

/** Recomputes the chain from its first row to its last, in batches; `anchor` is a head seen earlier. */
export async function verifyAuditChain(
  db: Database,
  options: { anchor?: ChainHead; batchSize?: number } = {},
): Promise<AuditVerification> {
  const batchSize = options.batchSize ?? 1000;
  const purgeMarks = new Set<string>();
  let first: AuditRecord | undefined;
  let previous: AuditRecord | undefined;
  let checked = 0;
  let anchorSeen = false;
  const bad = (sequence: number, reason: string): AuditVerification => ({
    ok: false,
    checked,
    firstBadSequence: sequence,
    reason,
  });

  for (;;) {
    const rows = await db
      .select()
      .from(auditLog)
      .where(previous ? gt(auditLog.sequence, previous.sequence) : undefined)
      .orderBy(asc(auditLog.sequence))
      .limit(batchSize);
    for (const row of rows) {
      if (previous && row.sequence !== previous.sequence + 1) {
        return bad(previous.sequence + 1, `row ${previous.sequence + 1} is missing`);
      }
      if (row.hash === null || row.prevHash === null) return bad(row.sequence, `row ${row.sequence} is not sealed`);
      if (!previous && row.sequence === 1 && row.prevHash !== GENESIS_HASH) {
        return bad(row.sequence, 'row 1 does not start from the genesis hash');
      }
      if (previous && row.prevHash !== previous.hash) {
        return bad(row.sequence, `row ${row.sequence} does not link to row ${previous.sequence}`);
      }
      if (hashAuditRow(row.prevHash, row as HashedAuditFields) !== row.hash) {
        return bad(row.sequence, `row ${row.sequence} was altered: its hash does not match its fields`);
      }
      if (row.action === PURGE_ACTION) {
        const mark = row.detail as { throughSequence?: number; throughHash?: string } | null;
        purgeMarks.add(`${mark?.throughSequence}:${mark?.throughHash}`);
      }
      if (options.anchor?.sequence === row.sequence) {
        if (row.hash !== options.anchor.hash) {
          return bad(row.sequence, `row ${row.sequence} differs from the head seen earlier: the chain was rewritten`);
        }
        anchorSeen = true;
      }
      first ??= row;
      previous = row;
      checked += 1;
    }
    if (rows.length < batchSize) break;
  }

  // Rows before the first were removed: only a retention purge, which vouches for the cut in the chain, may do that.
  if (first && first.sequence > 1 && !purgeMarks.has(`${first.sequence - 1}:${first.prevHash}`)) {
    return bad(first.sequence, `rows before ${first.sequence} were removed without a purge record`);
  }
  const anchor = options.anchor;
  if (anchor && !anchorSeen && anchor.sequence >= (first?.sequence ?? 1)) {
    const missing = previous ? previous.sequence + 1 : anchor.sequence;
    return bad(missing, `rows from ${missing} to at least ${anchor.sequence} were removed from the end`);
  }
  return { ok: true, checked, head: previous ? { sequence: previous.sequence, hash: previous.hash! } : undefined };
}

/**
 * Removes rows older than `cutoff` (a whole prefix of the chain, so it stays one chain) after appending a purge
 * row that records the last removed row's sequence and hash: verification accepts the new start because of it.
 */
export async function purgeAuditBefore(db: Database, cutoff: Date, actor: string): Promise<number> {
  return db.transaction(async (tx) => {
    const t = tx as unknown as Database;
    const tail = await lockChain(t);
    const [through] = await t
      .select({ sequence: auditLog.sequence, hash: auditLog.hash })
      .from(auditLog)
      .where(lt(auditLog.at, cutoff))
      .orderBy(desc(auditLog.sequence))
      .limit(1);
    if (!through?.hash) return 0;
    await insertRow(t, tail, {
      actor,
      action: PURGE_ACTION,
      detail: { throughSequence: through.sequence, throughHash: through.hash, before: cutoff.toISOString() },
    });
    const removed = await t
      .delete(auditLog)
      .where(lte(auditLog.sequence, through.sequence))
      .returning({ sequence: auditLog.sequence });
    return removed.length;
  });
}

/** Takes the chain's lock and returns its last row, sealing legacy rows first when there are any. */
async function lockChain(tx: Database): Promise<ChainHead | undefined> {
  await tx.execute(sql`select pg_advisory_xact_lock(${AUDIT_LOCK_KEY})`);
  const [tail] = await tx
    .select({ sequence: auditLog.sequence, hash: auditLog.hash })
    .from(auditLog)
    .orderBy(desc(auditLog.sequence))
    .limit(1);
  if (!tail) return undefined;
  if (tail.hash === null) {
    await sealLegacy(tx);
    const [sealed] = await tx
      .select({ sequence: auditLog.sequence, hash: auditLog.hash })
      .from(auditLog)
      .where(eq(auditLog.sequence, tail.sequence));
    // Still unsealed: a row forged after the chain began. Appending goes on; verification reports that row.
    return { sequence: tail.sequence, hash: sealed?.hash ?? GENESIS_HASH };
  }
  return { sequence: tail.sequence, hash: tail.hash };
}

async function insertRow(tx: Database, tail: ChainHead | undefined, entry: AuditEntry): Promise<ChainHead> {
  const fields: HashedAuditFields = {
    sequence: (tail?.sequence ?? 0) + 1,
    // Milliseconds, as the row will be read back: the hash must cover exactly what is stored.
    at: new Date(),
    actor: entry.actor,
    action: entry.action,
    target: entry.target ?? null,
    outcome: entry.outcome ?? 'success',
    // Through JSON once, so the hash covers what jsonb will hand back (no undefined members, dates as strings).
    detail: entry.detail === undefined ? null : JSON.parse(JSON.stringify(entry.detail)),
  };
  const prevHash = tail?.hash ?? GENESIS_HASH;
  const hash = hashAuditRow(prevHash, fields);
  await tx.insert(auditLog).values({ ...fields, prevHash, hash });
  return { sequence: fields.sequence, hash };
}

async function sealLegacy(tx: Database): Promise<number> {
  const [sealed] = await tx
    .select({ sequence: auditLog.sequence })
    .from(auditLog)
    .where(isNotNull(auditLog.hash))
    .limit(1);
  if (sealed) return 0;
  const legacy = await tx.select().from(auditLog).where(isNull(auditLog.hash)).orderBy(asc(auditLog.sequence));
  let prevHash = GENESIS_HASH;
  for (const row of legacy) {
    // Stored timestamps carry microseconds; the chain covers the milliseconds every client reads.
    const at = new Date(row.at.getTime());
    const hash = hashAuditRow(prevHash, { ...row, at });
    await tx
      .update(auditLog)
      .set({ at, prevHash, hash })
      .where(and(eq(auditLog.sequence, row.sequence), isNull(auditLog.hash)));
    prevHash = hash;
  }
  return legacy.length;
}
