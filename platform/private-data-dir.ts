// The data directory holds the database, the blobs, the keys and the embedded Temporal server's SQLite files:
// readable by the owner only. The umask is narrowed for this process and every child it spawns later (the
// dev server writes temporal.db and its -wal itself), and what an older version left looser is tightened.
import { chmod, lstat, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export const PRIVATE_UMASK = 0o077;

export async function makeDataDirPrivate(dir: string): Promise<void> {
  try {
    process.umask(PRIVATE_UMASK);
  } catch {
    // Worker threads cannot change the process umask; the chmod walk below still applies.
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await tighten(dir);
}

async function tighten(path: string): Promise<void> {
  const stats = await lstat(path).catch(() => undefined);
  if (!stats || stats.isSymbolicLink()) return;
  if (stats.isDirectory()) {
    if (stats.mode & 0o077) await chmod(path, 0o700);
    for (const entry of await readdir(path).catch(() => [])) await tighten(join(path, entry));
  } else if (stats.isFile() && stats.mode & 0o077) {
    await chmod(path, stats.mode & 0o700);
  }
}
