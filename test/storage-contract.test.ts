// Both object-store drivers pass the same contract: the filesystem store and real MinIO.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { BlobStore } from '../storage/blob-store.js';
import { openBlobStore } from '../storage/open-blob-store.js';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

const drivers: Record<string, () => Promise<BlobStore>> = {
  filesystem: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conduit-blobs-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    return openBlobStore({ kind: 'filesystem', dir });
  },
  minio: async () => {
    const s3 = inject('s3');
    return openBlobStore({ kind: 's3', ...s3, bucket: `contract-${Date.now()}`, region: 'us-east-1' });
  },
};

describe.each(Object.keys(drivers))('the %s object store', (driver) => {
  it('stores, lists, reads back and deletes objects', async () => {
    const store = await drivers[driver]!();
    await store.ping();
    const payload = Buffer.from([0, 1, 2, 255, 10, 13]);
    await store.put('runs/r1/artifact.bin', payload);
    await store.put('runs/r1/notes.txt', 'héllo 世界', 'text/plain');
    await store.put('runs/r2/other.txt', 'x');
    expect(await store.get('runs/r1/artifact.bin')).toEqual(payload);
    expect((await store.get('runs/r1/notes.txt'))?.toString()).toBe('héllo 世界');
    expect(await store.list('runs/r1/')).toEqual(['runs/r1/artifact.bin', 'runs/r1/notes.txt']);
    await store.put('runs/r1/notes.txt', 'replaced');
    expect((await store.get('runs/r1/notes.txt'))?.toString()).toBe('replaced');
    await store.delete('runs/r1/notes.txt');
    expect(await store.get('runs/r1/notes.txt')).toBeUndefined();
    await store.delete('runs/never-existed');
  });

  it('refuses keys that could escape the store', async () => {
    const store = await drivers[driver]!();
    for (const key of ['../etc/passwd', '/abs', 'a//b', 'a/./b', '', 'a b']) {
      await expect(store.put(key, 'x')).rejects.toThrow(/invalid object key/);
    }
  });
});
