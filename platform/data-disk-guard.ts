// Refuses new messages while the data directory's file system is nearly full. In the embedded topology that
// directory holds the Temporal dev server's SQLite, PGlite and the filesystem object store: a message accepted
// there could not be recorded whole, so the door says "not now" (503 with Retry-After, the answer DingTalk and
// Feishu redeliver on) before anything is written, and the platform comes back by itself once space is freed.
// statfs costs microseconds, but a burst of messages shares one reading per second. Each reading also
// refreshes the disk gauges, so the disk alert sees what the door sees.
import { statfs } from 'node:fs/promises';
import type { Metrics } from '../core/metrics.js';

/** How long one statfs reading is trusted. */
const READING_TTL_MS = 1000;

/** Why new messages cannot be taken now (the data directory is nearly full), or undefined when they can. */
export type DataDiskGuard = () => Promise<string | undefined>;

export function createDataDiskGuard(options: {
  dir: string;
  /** DATA_DIR_MIN_FREE_MB in bytes; 0 turns the guard off. */
  minFreeBytes: number;
  metrics?: Pick<Metrics, 'dataDirDiskUsedBytes' | 'dataDirDiskAvailableBytes' | 'dataDirDiskUsedRatio'>;
  now?: () => number;
}): DataDiskGuard {
  const now = options.now ?? Date.now;
  let reading: { at: number; refusal: Promise<string | undefined> } | undefined;
  const read = async (): Promise<string | undefined> => {
    const fs = await statfs(options.dir).catch(() => undefined);
    // A directory that cannot be read is not a full disk: the writes themselves will say what is wrong.
    if (!fs) return undefined;
    const used = (fs.blocks - fs.bfree) * fs.bsize;
    const available = fs.bavail * fs.bsize;
    options.metrics?.dataDirDiskUsedBytes.set(used);
    options.metrics?.dataDirDiskAvailableBytes.set(available);
    options.metrics?.dataDirDiskUsedRatio.set(used + available === 0 ? 0 : used / (used + available));
    if (available >= options.minFreeBytes) return undefined;
    return `the data directory's disk is nearly full (${mib(available)} MiB free, ${mib(options.minFreeBytes)} MiB needed); the message was not accepted, send it again later`;
  };
  return () => {
    if (options.minFreeBytes <= 0) return Promise.resolve(undefined);
    if (!reading || now() - reading.at >= READING_TTL_MS) reading = { at: now(), refusal: read() };
    return reading.refusal;
  };
}

const mib = (bytes: number) => Math.floor(bytes / (1024 * 1024));
