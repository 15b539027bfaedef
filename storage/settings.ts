// Where blobs (offloaded texts, attachments) live: an S3-compatible store such as MinIO when S3_ENDPOINT and its
// keys are set, otherwise files under the data directory.
import { z } from 'zod';
import { optionalString, optionalUrl, parseVariables, type Variables } from '../core/settings.js';

const S3_CREDENTIALS = ['S3_ENDPOINT', 'S3_ACCESS_KEY', 'S3_SECRET_KEY'] as const;

const storageVariables = z
  .object({
    S3_ENDPOINT: optionalUrl('an http(s):// URL such as http://127.0.0.1:9000'),
    S3_ACCESS_KEY: optionalString,
    S3_SECRET_KEY: optionalString,
    S3_BUCKET: z
      .string()
      .regex(
        /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
        'expected an S3 bucket name (3-63 lowercase letters, digits, dots, dashes)',
      )
      .default('conduit'),
    S3_REGION: z.string().default('us-east-1'),
  })
  .superRefine((env, ctx) => {
    const set = S3_CREDENTIALS.filter((key) => env[key] !== undefined);
    if (set.length > 0 && set.length < S3_CREDENTIALS.length) {
      for (const key of S3_CREDENTIALS.filter((k) => env[k] === undefined)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `required when ${set.join(', ')} is set` });
      }
    }
  });

export type S3Settings = {
  kind: 's3';
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region: string;
};
export type BlobSettings = S3Settings | { kind: 'filesystem'; dir: string };

export function parseBlobSettings(source: Variables, dataDir: string): BlobSettings {
  const env = parseVariables(storageVariables, source);
  return env.S3_ENDPOINT && env.S3_ACCESS_KEY && env.S3_SECRET_KEY
    ? {
        kind: 's3',
        endpoint: env.S3_ENDPOINT,
        accessKey: env.S3_ACCESS_KEY,
        secretKey: env.S3_SECRET_KEY,
        bucket: env.S3_BUCKET,
        region: env.S3_REGION,
      }
    : { kind: 'filesystem', dir: `${dataDir}/blobs` };
}
