// The data classes a retention purge walks through and what a purge reports. Plain data with no imports, so
// the retentionPurge workflow, the purge itself (retention.ts) and its activity share one definition.

export const RETENTION_CLASSES = ['messages', 'runEvents', 'blobs', 'rateWindows', 'audit'] as const;
export type RetentionClass = (typeof RETENTION_CLASSES)[number];

export interface RetentionPurgeInput {
  /** What started it: `schedule`, or `api:<key id>`. */
  trigger?: string;
  /** Only these classes (default: all). */
  classes?: RetentionClass[];
}

/** The retentionPurge workflow as its starters see it; workflows/retention-purge.ts implements it. */
export type RetentionPurgeWorkflow = (input?: RetentionPurgeInput) => Promise<RetentionPurgeResult>;

export interface RetentionPurgeResult {
  deleted: Partial<Record<RetentionClass, number>>;
  /** Classes with no retention period: kept forever. */
  skipped: RetentionClass[];
}
