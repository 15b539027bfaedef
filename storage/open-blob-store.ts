// Opens the object store the settings name: MinIO/S3 when S3_ENDPOINT is set, the local filesystem otherwise.
// Each driver is loaded only when chosen, so the embedded default never loads the minio client.
import type { BlobStore } from './blob-store.js';
import type { BlobSettings } from './settings.js';

export async function openBlobStore(settings: BlobSettings): Promise<BlobStore> {
  if (settings.kind === 's3') {
    const { openMinioStore } = await import('./minio-store.js');
    return openMinioStore(settings);
  }
  const { openFilesystemStore } = await import('./filesystem-store.js');
  return openFilesystemStore(settings.dir);
}
