// The S3 object store through the `minio` client (MinIO, or any S3-compatible service). The bucket is
// created on open when it does not exist yet.
import { Client } from 'minio';
import type { BlobEntry, BlobStore } from './blob-store.js';
import { assertValidKey } from './object-key.js';
import type { S3Settings } from './settings.js';

export async function openMinioStore(settings: S3Settings): Promise<BlobStore> {
  const url = new URL(settings.endpoint);
  const client = new Client({
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    useSSL: url.protocol === 'https:',
    accessKey: settings.accessKey,
    secretKey: settings.secretKey,
    region: settings.region,
  });
  const bucket = settings.bucket;
  if (!(await client.bucketExists(bucket))) {
    try {
      await client.makeBucket(bucket, settings.region);
    } catch (error) {
      // Another instance may have created it between our check and our call.
      if (!(await client.bucketExists(bucket))) throw error;
    }
  }

  return {
    kind: 's3',
    async put(key, data, contentType = 'application/octet-stream') {
      assertValidKey(key);
      const body = typeof data === 'string' ? Buffer.from(data) : data;
      await client.putObject(bucket, key, body, body.length, { 'Content-Type': contentType });
    },
    async get(key) {
      assertValidKey(key);
      try {
        const stream = await client.getObject(bucket, key);
        const chunks: Buffer[] = [];
        for await (const chunk of stream) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks);
      } catch (error) {
        if ((error as { code?: string }).code === 'NoSuchKey') return undefined;
        throw error;
      }
    },
    async delete(key) {
      assertValidKey(key);
      await client.removeObject(bucket, key);
    },
    async list(prefix) {
      const keys: string[] = [];
      for await (const item of client.listObjectsV2(bucket, prefix, true)) {
        if (item.name) keys.push(item.name);
      }
      return keys.sort();
    },
    async listEntries(prefix) {
      const entries: BlobEntry[] = [];
      for await (const item of client.listObjectsV2(bucket, prefix, true)) {
        if (item.name) entries.push({ key: item.name, lastModified: item.lastModified });
      }
      return entries.sort((a, b) => a.key.localeCompare(b.key));
    },
    async ping() {
      if (!(await client.bucketExists(bucket))) throw new Error(`bucket ${bucket} does not exist`);
    },
  };
}
