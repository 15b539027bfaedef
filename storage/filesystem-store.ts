// The embedded object store: one file per key under a directory, written atomically (temp file + rename)
// so a crash never leaves half an object behind.
import { randomUUID } from 'node:crypto';
import { access, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { BlobStore } from './blob-store.js';
import { assertValidKey } from './object-key.js';

export async function openFilesystemStore(root: string): Promise<BlobStore> {
  const objectsDir = join(root, 'objects');
  const tmpDir = join(root, 'tmp');
  await mkdir(objectsDir, { recursive: true });
  await mkdir(tmpDir, { recursive: true });
  const pathOf = (key: string) => {
    assertValidKey(key);
    return join(objectsDir, key);
  };

  return {
    kind: 'filesystem',
    async put(key, data) {
      const target = pathOf(key);
      await mkdir(dirname(target), { recursive: true });
      const temp = join(tmpDir, randomUUID());
      try {
        await writeFile(temp, data);
        await rename(temp, target);
      } catch (error) {
        // A write cut short (ENOSPC on a full disk) must not leave its partial temp file taking space.
        await rm(temp, { force: true });
        throw error;
      }
    },
    async get(key) {
      try {
        return await readFile(pathOf(key));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    async delete(key) {
      await rm(pathOf(key), { force: true });
    },
    async list(prefix) {
      const entries = await readdir(objectsDir, { recursive: true, withFileTypes: true });
      return entries
        .filter((entry) => entry.isFile())
        .map((entry) => relative(objectsDir, join(entry.parentPath, entry.name)).split(sep).join('/'))
        .filter((key) => key.startsWith(prefix))
        .sort();
    },
    async listEntries(prefix) {
      const entries = await readdir(objectsDir, { recursive: true, withFileTypes: true });
      const keys = entries
        .filter((entry) => entry.isFile())
        .map((entry) => relative(objectsDir, join(entry.parentPath, entry.name)).split(sep).join('/'))
        .filter((key) => key.startsWith(prefix));
      const stated = await Promise.all(
        keys.map(async (key) => ({ key, lastModified: (await stat(pathOf(key)).catch(() => undefined))?.mtime })),
      );
      // An object deleted between the listing and its stat is gone, not an error.
      return stated
        .filter((entry): entry is { key: string; lastModified: Date } => entry.lastModified !== undefined)
        .sort((a, b) => a.key.localeCompare(b.key));
    },
    async ping() {
      await access(objectsDir);
    },
  };
}
