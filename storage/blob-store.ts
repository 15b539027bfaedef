// The object-store interface: large artifacts, attachments and memory snapshots, addressed by key. Both
// drivers (MinIO/S3 and the local filesystem) pass the same contract tests; open-blob-store.ts picks one.
export interface BlobEntry {
  key: string;
  lastModified: Date;
}

export interface BlobStore {
  readonly kind: 's3' | 'filesystem';
  put(key: string, data: Buffer | string, contentType?: string): Promise<void>;
  /** The object's bytes, or undefined when no object has that key. */
  get(key: string): Promise<Buffer | undefined>;
  delete(key: string): Promise<void>;
  list(prefix: string): Promise<string[]>;
  /** Keys with their last write times, for retention (privacy/retention.ts). */
  listEntries(prefix: string): Promise<BlobEntry[]>;
  /** Throws when the store cannot be reached (readiness check). */
  ping(): Promise<void>;
}
