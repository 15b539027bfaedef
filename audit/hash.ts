// How an audit row is hashed: SHA-256 over the previous row's hash followed by the canonical JSON of the row's
// own fields (keys sorted at every depth, no whitespace), so any client that reads the same values recomputes the
// same hash. Pure functions: no I/O.
import { createHash } from 'node:crypto';

/** The previous hash of the first row ever written. */
export const GENESIS_HASH = '0'.repeat(64);

export type AuditOutcome = 'success' | 'failure' | 'denied';

/** The fields a row's hash covers. */
export interface HashedAuditFields {
  sequence: number;
  at: Date;
  actor: string;
  action: string;
  target: string | null;
  outcome: AuditOutcome;
  detail: unknown;
}

/** JSON with object keys sorted and undefined members left out, as JSON.stringify would drop them. */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (typeof value === 'object') {
    const members = Object.keys(value)
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${members.join(',')}}`;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return 'null';
  if (typeof value === 'bigint') return value.toString();
  return JSON.stringify(value);
}

export function hashAuditRow(prevHash: string, row: HashedAuditFields): string {
  const fields = {
    sequence: row.sequence,
    at: row.at.toISOString(),
    actor: row.actor,
    action: row.action,
    target: row.target,
    outcome: row.outcome,
    detail: row.detail ?? null,
  };
  return createHash('sha256').update(prevHash).update(canonicalJson(fields)).digest('hex');
}
