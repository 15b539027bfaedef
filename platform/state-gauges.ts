// Keeps the gauges that mirror state outside the process current: data-directory disk usage (statfs) and
// pending jobs (the jobs table). Read once before the first scrape, then on an interval rather than at scrape
// time, so a slow database never turns into a failed scrape (and a misleading `up == 0`).
import { statfs } from 'node:fs/promises';
import { count, eq } from 'drizzle-orm';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Database } from '../db/client.js';
import { jobs } from '../db/schema.js';

export interface StateGauges {
  refresh(): Promise<void>;
  stop(): void;
}

export async function startStateGauges(
  metrics: Metrics,
  deps: { dataDir: string; db: Database; logger: Logger },
  intervalMs = 15_000,
): Promise<StateGauges> {
  const refresh = async () => {
    await Promise.all([
      readDiskUsage(metrics, deps.dataDir).catch((error) =>
        deps.logger.warn({ err: error, dataDir: deps.dataDir }, 'cannot read data directory disk usage'),
      ),
      countPendingJobs(metrics, deps.db).catch((error) =>
        deps.logger.warn({ err: error }, 'cannot count pending jobs'),
      ),
    ]);
  };
  await refresh();
  const timer = setInterval(() => void refresh(), intervalMs);
  timer.unref();
  return { refresh, stop: () => clearInterval(timer) };
}

export async function readDiskUsage(metrics: Metrics, dir: string): Promise<void> {
  const fs = await statfs(dir);
  const used = (fs.blocks - fs.bfree) * fs.bsize;
  const available = fs.bavail * fs.bsize;
  // df's Use%: blocks reserved for root count as neither, so 100 % means Conduit can no longer write.
  const ratio = used + available === 0 ? 0 : used / (used + available);
  metrics.dataDirDiskUsedBytes.set(used);
  metrics.dataDirDiskAvailableBytes.set(available);
  metrics.dataDirDiskUsedRatio.set(ratio);
}

export async function countPendingJobs(metrics: Metrics, db: Database): Promise<void> {
  const rows = await db
    .select({ kind: jobs.kind, pending: count() })
    .from(jobs)
    .where(eq(jobs.status, 'pending'))
    .groupBy(jobs.kind);
  // Every kind is set, so a kind whose last job finished drops to 0 instead of keeping its old value.
  for (const kind of jobs.kind.enumValues) {
    metrics.pendingJobs.set({ kind }, rows.find((row) => row.kind === kind)?.pending ?? 0);
  }
}
